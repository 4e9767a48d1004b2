"""Self-supervised denoising of diffusion series with dipy's Patch2Self (Fadnavis et al. 2020):
each volume is predicted from all the others by a linear regression over local patches, so
noise, independent between volumes, is not reproduced."""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.dmri.gradients import check_count
from spinalcordtoolbox.image import Image, empty_like
from spinalcordtoolbox.utils.cli import SCTError, choice_error

MODELS = ("ols", "ridge", "lasso")


def denoise_patch2self(im: Image, bvals: np.ndarray, model="ols", radius=(0, 0, 0),
                       bvals_path=None) -> Image:
    """Denoised copy (float32) of the 4-D ``im``; ``radius`` is the patch half-size in voxels."""
    from dipy.denoise.patch2self import patch2self

    if model not in MODELS:
        raise choice_error("model", model, MODELS)
    im.require_4d("diffusion image")
    check_count(im.data.shape[3], bvals, "bvals", bvals_path)
    if im.data.shape[3] < 3:
        raise SCTError(f"Patch2Self needs at least 3 volumes, the image has {im.data.shape[3]}")
    radius = tuple(int(r) for r in radius)
    denoised = patch2self(im.data.astype(np.float32), np.asarray(bvals, dtype=float), patch_radius=radius,
                          model=model, out_dtype=np.float32, clip_negative_vals=False,
                          shift_intensity=True)
    return empty_like(im, np.asarray(denoised, dtype=np.float32))
