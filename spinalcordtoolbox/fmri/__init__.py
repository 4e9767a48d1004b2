"""Functional MRI: temporal signal-to-noise ratio (motion correction lives in ``moco/``)."""
