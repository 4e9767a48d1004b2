"""Quantitative metrics: values within atlas labels or masks (bin/wa/ml/map), MTR, MTsat, SNR, texture, flow."""
