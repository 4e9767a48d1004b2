"""Slice-wise motion correction of 4-D series, shared by ``sct_dmri_moco`` and ``sct_fmri_moco``."""
