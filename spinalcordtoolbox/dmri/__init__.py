"""Diffusion MRI: b-vector/b-value files, b=0/DWI separation, tensor fitting (dipy), denoising."""
