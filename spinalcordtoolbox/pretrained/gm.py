"""Gray-matter segmentation with the deepseg_gm networks (Perone et al., Sci Rep 2018).

Pipeline of the published method: axial slices resampled in-plane to 0.25 mm, cropped to a
200 x 200 (50 mm) window when larger (the network is fully convolutional: smaller slices run
whole), standardised with the stack's mean and standard deviation, per-slice prediction (a few
slices per pass; onnxruntime on CPU, torch on GPU), threshold, then back to the input's grid.
Unlike the original, which centres the window on the slice centre, the window follows the cord
(t2s centerline detector) by default.
"""
from __future__ import annotations

import logging
import os

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, empty_like

logger = logging.getLogger(__name__)

GM_SPACING_MM = 0.25   # in-plane resolution the networks were trained at
GM_WINDOW = 200        # largest slice window (voxels at 0.25 mm = 50 mm)
DEFAULT_THRESHOLD = 0.999
TTA_RUNS = 8           # test-time augmentation: runs with random intensity offsets
TTA_MAX_OFFSET = 2.0


def _use_gpu(device) -> bool:
    """Whether to run on a GPU (torch) rather than on the CPU (onnxruntime, no torch import).

    'auto' imports torch to ask for CUDA only where an NVIDIA driver is present.
    """
    if device == "cpu":
        return False
    if str(device).startswith("cuda"):
        return True
    if not os.path.exists("/dev/nvidiactl"):
        return False
    from spinalcordtoolbox.pretrained.networks import select_device
    return select_device(device).type == "cuda"


def gm_network(model: str = "large", device="auto"):
    """The deepseg_gm network of ``model`` as a function (N, 1, H, W) float32 -> probabilities.

    On CPU it runs with onnxruntime; on a GPU with torch (same weights, same graph).
    """
    from spinalcordtoolbox.pretrained.gm_onnx import GM_PIXELS_PER_PASS, load_gm_session, run_gm_session
    from spinalcordtoolbox.pretrained.models import gm_model_path

    path = gm_model_path(model)
    if not _use_gpu(device):
        session = load_gm_session(path)
        return lambda batch, desc=None: run_gm_session(session, batch, desc)
    from spinalcordtoolbox.pretrained.networks import load_network, predict
    net = load_network(path, device)
    return lambda batch, desc=None: predict(
        net, batch, batch_size=max(1, GM_PIXELS_PER_PASS // (batch.shape[2] * batch.shape[3])), desc=desc)


def gm_probabilities(slices: np.ndarray, net, tta=False, seed=0) -> np.ndarray:
    """GM probability of standardised slices (x, y, nz) -> same shape, with ``net`` from
    :func:`gm_network`.

    With ``tta``, the average of the plain run and 8 runs with a random intensity offset
    drawn in [0, 2) (seeded: results are reproducible).
    """
    batch = np.transpose(slices, (2, 0, 1))[:, None].astype(np.float32)
    runs = [net(batch, "GM segmentation")]
    if tta:
        rng = np.random.default_rng(seed)
        for _ in range(TTA_RUNS):
            offset = np.float32(rng.uniform(0, TTA_MAX_OFFSET))
            runs.append(net(batch + offset, "GM segmentation (TTA)"))
    prob = np.mean(runs, axis=0)[:, 0]
    return np.transpose(prob, (1, 2, 0))


def _window_centres(work: Image, res: Image, centre_on: str, device):
    """Per-slice centre (x, y) of the 50 mm window on ``res``'s grid: the cord's centre (t2s
    centerline detector) or the slice centre."""
    nx, ny, nz = res.data.shape
    image_centre = [((nx - 1) / 2.0, (ny - 1) / 2.0)] * nz
    if centre_on == "image":
        return image_centre
    from spinalcordtoolbox.download import DownloadError
    from spinalcordtoolbox.pretrained.centerline import CordNotFoundError, detect_centerline_points
    from spinalcordtoolbox.pretrained.models import ModelNotAvailableError
    from spinalcordtoolbox.pretrained.preprocessing import fill_missing_centres

    try:
        _, points = detect_centerline_points(work, "t2s", device)
    except (CordNotFoundError, ModelNotAvailableError, DownloadError) as e:
        # the detector is an aid: without it, behave as the original pipeline
        logger.warning("Cord centre unavailable (%s): the 50 mm GM window is centred on the slice "
                       "centre (an off-centre cord may be missed)", str(e).splitlines()[0])
        return image_centre
    work2res = np.linalg.inv(res.affine) @ work.affine
    centres = [None] * nz
    for p in points:
        q = work2res[:3, :3] @ p + work2res[:3, 3]
        centres[int(round(q[2]))] = (float(q[0]), float(q[1]))
    return fill_missing_centres(centres)


def segment_gm(im: Image, model: str = "large", threshold: float = DEFAULT_THRESHOLD, tta=False,
               device="auto", seed=0, centre_on="cord") -> Image:
    """Segment the spinal-cord gray matter of an axial T2*-like image.

    Slices wider than 50 mm are cropped to a 50 mm window centred on the cord (``centre_on=
    "cord"``, located with the t2s centerline detector) or, as the established pipeline does,
    on the slice centre (``"image"``). Returns a uint8 mask on the input's grid and
    orientation; with ``threshold <= 0`` the probability map (float32) instead. Raises
    :class:`ImageError` for unusable images.
    """
    from spinalcordtoolbox.pretrained.preprocessing import (
        crop_around_centerline, resample_onto, resample_to_spacing, uncrop)

    if not 0 <= threshold < 1:
        raise ValueError(f"Threshold must be in [0, 1), got {threshold}")
    if centre_on not in ("cord", "image"):
        raise ValueError(f"centre_on must be 'cord' or 'image', got {centre_on!r}")
    work = im.copy().require_3d("input image")
    if not np.isfinite(work.data).all():
        raise ImageError("The input image contains NaN or infinite values")
    orientation = work.orientation
    # slices along the inferior-superior axis whatever the storage order
    work.change_orientation("RPI")
    px, py, _ = work.pixdim
    if max(px, py) > 1.5:
        logger.warning("In-plane resolution %.2f x %.2f mm is coarse for gray-matter segmentation "
                       "(the networks expect ~0.5 mm axial slices)", px, py)
    net = gm_network(model, device)

    res = resample_to_spacing(work, (GM_SPACING_MM, GM_SPACING_MM, None))
    if max(res.data.shape[:2]) > GM_WINDOW:
        centres = _window_centres(work, res, centre_on, device)
    else:  # the whole slice fits: no crop
        centres = [(0.0, 0.0)] * res.data.shape[2]
    window, starts = crop_around_centerline(res.data, centres, GM_WINDOW, pad=False)
    std = float(window.std())
    if std == 0:
        raise ImageError("The image is constant around the slice centres: no spinal cord to segment")
    window = (window - window.mean()) / std
    prob = gm_probabilities(window, net, tta=tta, seed=seed)

    if threshold > 0:
        mask = (prob > threshold).astype(np.float32)
        back = resample_onto(uncrop(mask, starts, res.data.shape), res, work)
        data = (back > 0.5).astype(np.uint8)
        if not data.any():
            logger.warning("No gray matter found above the threshold %.3f", threshold)
    else:
        back = resample_onto(uncrop(prob, starts, res.data.shape), res, work)
        data = np.clip(back, 0, 1).astype(np.float32)
    out = empty_like(work, data)
    out.change_orientation(orientation)
    return out
