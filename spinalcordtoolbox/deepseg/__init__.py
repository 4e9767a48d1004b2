"""Deep-learning segmentation model zoo of ``sct_deepseg``: registry, install, inference, post-processing."""
