"""Gray-matter segmentation with the deepseg_gm networks (Perone et al., Sci Rep 2018).

Pipeline of the published method: axial slices resampled in-plane to 0.25 mm, cropped to a
200 x 200 (50 mm) window around the slice centre when larger (the network is fully
convolutional: smaller slices run whole), standardised with the stack's mean and standard
deviation, per-slice prediction, threshold, then back to the input's grid.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, empty_like

logger = logging.getLogger(__name__)

GM_SPACING_MM = 0.25   # in-plane resolution the networks were trained at
GM_WINDOW = 200        # largest slice window (voxels at 0.25 mm = 50 mm)
DEFAULT_THRESHOLD = 0.999
TTA_RUNS = 8           # test-time augmentation: runs with random intensity offsets
TTA_MAX_OFFSET = 2.0


def gm_probabilities(slices: np.ndarray, net, tta=False, seed=0) -> np.ndarray:
    """GM probability of standardised 200 x 200 slices (200, 200, nz) -> same shape.

    With ``tta``, the average of the plain run and 8 runs with a random intensity offset
    drawn in [0, 2) (seeded: results are reproducible).
    """
    from spinalcordtoolbox.pretrained.networks import predict

    batch = np.transpose(slices, (2, 0, 1))[:, None].astype(np.float32)
    runs = [predict(net, batch, batch_size=4, desc="GM segmentation")]
    if tta:
        rng = np.random.default_rng(seed)
        for _ in range(TTA_RUNS):
            runs.append(predict(net, batch + np.float32(rng.uniform(0, TTA_MAX_OFFSET)), batch_size=4,
                                desc="GM segmentation (TTA)"))
    prob = np.mean(runs, axis=0)[:, 0]
    return np.transpose(prob, (1, 2, 0))


def segment_gm(im: Image, model: str = "large", threshold: float = DEFAULT_THRESHOLD, tta=False,
               device="auto", seed=0) -> Image:
    """Segment the spinal-cord gray matter of an axial T2*-like image.

    Returns a uint8 mask on the input's grid and orientation; with ``threshold <= 0`` the
    probability map (float32) instead. Raises :class:`ImageError` for unusable images.
    """
    from spinalcordtoolbox.pretrained.models import gm_model_path
    from spinalcordtoolbox.pretrained.networks import load_network
    from spinalcordtoolbox.pretrained.preprocessing import (
        centre_crop, resample_onto, resample_to_spacing, undo_centre_crop)

    if not 0 <= threshold < 1 and threshold > 0:
        raise ValueError(f"Threshold must be in [0, 1), got {threshold}")
    work = im.copy().require_3d("input image")
    if not np.isfinite(work.data).all():
        raise ImageError("The input image contains NaN or infinite values")
    orientation = work.orientation
    # slices along the inferior-superior axis whatever the storage order
    work.change_orientation("RPI")
    px, py, pz = work.pixdim
    if max(px, py) > 1.5:
        logger.warning("In-plane resolution %.2f x %.2f mm is coarse for gray-matter segmentation "
                       "(the networks expect ~0.5 mm axial slices)", px, py)
    net = load_network(gm_model_path(model), device)

    res = resample_to_spacing(work, (GM_SPACING_MM, GM_SPACING_MM, None))
    window, starts = centre_crop(res.data, GM_WINDOW)
    std = float(window.std())
    if std == 0:
        raise ImageError("The image is constant around the slice centres: no spinal cord to segment")
    window = (window - window.mean()) / std
    prob = gm_probabilities(window, net, tta=tta, seed=seed)

    if threshold > 0:
        mask = (prob > threshold).astype(np.float32)
        full = undo_centre_crop(mask, starts, res.data.shape)
        back = resample_onto(full, res, work)
        data = (back > 0.5).astype(np.uint8)
        if not data.any():
            logger.warning("No gray matter found above the threshold %.3f", threshold)
    else:
        full = undo_centre_crop(prob, starts, res.data.shape)
        data = np.clip(resample_onto(full, res, work), 0, 1).astype(np.float32)
    out = empty_like(work, data)
    out.change_orientation(orientation)
    return out
