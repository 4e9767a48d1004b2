"""Classical spinal-cord segmentation with no model download (``sct_propseg``)."""
