"""Self-supervised denoising of diffusion series with dipy's Patch2Self (Fadnavis et al. 2020):
each volume is predicted from all the others by a linear regression over local patches, so
noise, independent between volumes, is not reproduced.

dipy's implementation (checked with 1.12) returns wrong values for the last ``n % 5`` volumes (its
chunked write-back copies a stale chunk) and, when b=0 volumes are not denoised, copies the
wrong volume unless the b=0 volumes come first. Each volume's prediction depends only on the
set of the other volumes, not on their order, so the series is given b=0 volumes first, and the
last ``n % 5`` volumes are taken from a second run in which they come first.

dipy's default (version 3) fits each volume on a count sketch of the voxels drawn from numpy's
global random generator, so the same input gave a different output from one run to the next (and
one volume's noise reduction varied from 30 % to 8 % on a small phantom). The sketch is drawn from
a fixed seed, the caller's generator state being restored afterwards: the same input always gives
the same output.
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.dmri.gradients import check_count
from spinalcordtoolbox.image import Image, empty_like
from spinalcordtoolbox.utils.cli import SCTError, choice_error
from spinalcordtoolbox.utils.fs import temporary_folder

MODELS = ("ols", "ridge", "lasso")
#: dipy's default: volumes with b <= 50 s/mm2 are b=0
B0_THRESHOLD = 50
#: seed of the count sketch (any fixed value: it makes runs reproducible)
SKETCH_SEED = 0


def denoise_patch2self(im: Image, bvals: np.ndarray, model="ols", radius=(0, 0, 0),
                       bvals_path=None) -> Image:
    """Denoised copy (float32) of the 4-D ``im``; ``radius`` is the patch half-size in voxels."""
    from dipy.denoise.patch2self import patch2self

    if model not in MODELS:
        raise choice_error("model", model, MODELS)
    im.require_4d("diffusion image")
    check_count(im.data.shape[3], bvals, "bvals", bvals_path)
    radius = tuple(int(r) for r in radius)
    if any(radius):
        # dipy's current Patch2Self (version 3) works voxel-wise; its patch-based version 1 gives
        # DWI errors 15-20 times the noise on a phantom (dipy 1.12), so it is not offered
        raise SCTError(f"Patch radius {','.join(map(str, radius))}: only 0 is supported (dipy's "
                       "Patch2Self is voxel-wise; its patch-based version is unreliable)")
    bvals = np.asarray(bvals, dtype=float)
    n = len(bvals)
    if n < 5:
        raise SCTError(f"Patch2Self needs at least 5 volumes, the image has {n}")
    data = im.data.astype(np.float32)

    def run(order):
        # dipy keeps its working arrays in memory-mapped files left in the temporary folder: a
        # private folder, removed afterwards, so runs never share or leave them
        caller_state = np.random.get_state()
        np.random.seed(SKETCH_SEED)
        try:
            with temporary_folder("patch2self") as tmp:
                out = patch2self(data[..., order], bvals[order], model=model,
                                 out_dtype=np.float32, clip_negative_vals=False,
                                 shift_intensity=False, tmp_dir=tmp)
        finally:
            np.random.set_state(caller_state)
        result = np.empty(data.shape, np.float32)
        result[..., order] = out
        return result

    is_b0 = bvals <= B0_THRESHOLD
    order = np.r_[np.flatnonzero(is_b0), np.flatnonzero(~is_b0)]
    denoised = run(order)
    tail = n % 5
    if tail:
        last = order[-tail:]
        others = order[:-tail]
        # a single b=0 volume must stay first (dipy copies it by position); with several, the
        # b=0 volumes are denoised and may come anywhere. Either way `last` lands within the
        # first 1 + tail positions, which are correct since n >= 5 + tail >= 2 tail + 1.
        lead = others[:1] if is_b0.sum() == 1 else others[:0]
        order2 = np.r_[lead, last, others[len(lead):]].astype(int)
        denoised[..., last] = run(order2)[..., last]
    return empty_like(im, denoised)
