"""Spinal-cord centerline detection with the deepseg_sc 2-D U-Nets (Gros et al., NeuroImage 2019).

Each axial slice (RPI, resampled in-plane to 0.5 mm, intensities clipped to the 2nd-98th
percentiles and scaled to [0, 255]) is searched with 80 x 80 patches: one patch centred on
the previous slice's detection when there is one, else every non-overlapping patch. The
detection is the largest connected region with p > 0.5; its centre of mass is the centerline
point (more accurate than the heatmap maximum, and needs no external fitting binary).

Agreed API for other commands (sct_propseg, sct_get_centerline):
``detect_centerline(im, contrast) -> Image``.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

logger = logging.getLogger(__name__)

PATCH = 80                 # patch size of the detectors (voxels at 0.5 mm = 40 mm)
CTR_SPACING_MM = 0.5
DETECTION_THRESHOLD = 0.5
# per-patch standardisation (mean, std) learned with each detector
PATCH_STATS = {"t2": (51.1417, 57.4408), "t2s": (68.8591, 71.4659), "dwi": (55.744, 45.003),
               "t1": (55.7359, 64.3149)}
# T1/T2 fields of view often reach the brain: stop once the cord is lost for this many slices
STOP_AFTER_LOST = 10
STOP_WHEN_LOST = {"t1": True, "t2": True, "t2s": False, "dwi": False}


class CordNotFoundError(RuntimeError):
    """The network found no spinal cord in the image."""


def _largest_component_centre(mask: np.ndarray):
    """(x, y) centre of mass of the largest 2-D connected region of ``mask``, or None."""
    from scipy.ndimage import label

    if not mask.any():
        return None
    labels, n = label(mask)
    if n > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = labels == (int(np.argmax(sizes)) + 1)
    xs, ys = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def find_cord_centres(data: np.ndarray, contrast: str, net, stop_when_lost: bool | None = None):
    """Per-slice cord centre (x, y) in voxels of ``data`` (RPI, 0.5 mm in-plane), None if not found.

    ``data`` is the raw image; scaling and patch standardisation happen here.
    """
    from spinalcordtoolbox.pretrained.networks import predict
    from spinalcordtoolbox.pretrained.preprocessing import crop_window, scale_percentile
    from spinalcordtoolbox.utils.cli import progress_bar

    mean, std = PATCH_STATS[contrast]
    if stop_when_lost is None:
        stop_when_lost = STOP_WHEN_LOST.get(contrast, False)
    nx, ny, nz = data.shape
    px, py = (int(np.ceil(n / PATCH)) * PATCH for n in (nx, ny))
    scaled = np.zeros((px, py, nz), dtype=np.float32)
    scaled[:nx, :ny] = scale_percentile(data)
    normed = (scaled - mean) / std
    tiles = [(x0, y0) for y0 in range(0, py, PATCH) for x0 in range(0, px, PATCH)]

    centres = [None] * nz
    previous, lost, seen = None, 0, False
    for z in progress_bar(range(nz), desc="Centerline detection", unit="slice"):
        centre = None
        if previous is not None:
            x0, _ = crop_window(previous[0], PATCH, px)
            y0, _ = crop_window(previous[1], PATCH, py)
            prob = np.zeros((px, py), dtype=np.float32)
            patch = normed[None, None, x0:x0 + PATCH, y0:y0 + PATCH, z]
            prob[x0:x0 + PATCH, y0:y0 + PATCH] = predict(net, patch)[0, 0]
            centre = _largest_component_centre(prob[:nx, :ny] > DETECTION_THRESHOLD)
        if centre is None:
            # scan the whole slice, all patches in one batch
            batch = np.stack([normed[x0:x0 + PATCH, y0:y0 + PATCH, z] for x0, y0 in tiles])[:, None]
            preds = predict(net, batch, batch_size=16)
            prob = np.zeros((px, py), dtype=np.float32)
            for (x0, y0), p in zip(tiles, preds):
                prob[x0:x0 + PATCH, y0:y0 + PATCH] = p[0]
            centre = _largest_component_centre(prob[:nx, :ny] > DETECTION_THRESHOLD)
        centres[z] = centre
        previous = centre
        if centre is not None:
            lost, seen = 0, True
        else:
            lost += 1
            if stop_when_lost and seen and lost > STOP_AFTER_LOST:
                logger.info("Cord lost for %d slices above slice %d (brain?): detection stopped",
                            lost, z - lost)
                break
    return centres


def detect_centerline_points(im: Image, contrast: str, device="auto"):
    """Sub-voxel centerline points of ``im`` (any orientation).

    Returns ``(work, points)``: ``work`` is the input reoriented to RPI and ``points`` an
    (N, 3) array of (x, y, z) voxel coordinates in ``work``, one per axial slice where the
    cord was found. Raises :class:`CordNotFoundError` when no slice has a detection.
    """
    from spinalcordtoolbox.pretrained.models import centerline_model_path
    from spinalcordtoolbox.pretrained.networks import load_network
    from spinalcordtoolbox.pretrained.preprocessing import resample_to_spacing

    contrast = contrast.lower()
    model_path = centerline_model_path(contrast)
    work = im.copy().require_3d("input image")
    if not np.isfinite(work.data).all():
        raise ImageError("The input image contains NaN or infinite values")
    work.change_orientation("RPI")
    res = resample_to_spacing(work, (CTR_SPACING_MM, CTR_SPACING_MM, None))
    if np.ptp(res.data) == 0:
        raise CordNotFoundError("The image is constant: no spinal cord to detect")
    net = load_network(model_path, device)
    centres = find_cord_centres(res.data, contrast, net)
    found = [(c[0], c[1], z) for z, c in enumerate(centres) if c is not None]
    if not found:
        raise CordNotFoundError(
            f"The {contrast} centerline network found no spinal cord in this image. Check the contrast "
            f"(-c), or give the centerline with '-centerline file'")
    res2work = np.linalg.inv(work.affine) @ res.affine
    pts = np.asarray(found, dtype=float)
    points = pts @ res2work[:3, :3].T + res2work[:3, 3]
    logger.info("Cord found in %d of %d slices", len(found), len(centres))
    return work, points


def detect_centerline(im: Image, contrast: str, device="auto") -> Image:
    """Binary centerline of the cord: one voxel per axial slice where the network finds the cord,
    on the input's grid and orientation (uint8)."""
    orientation = im.orientation
    work, points = detect_centerline_points(im, contrast, device)
    mask = np.zeros(work.data.shape, dtype=np.uint8)
    idx = np.rint(points).astype(int)
    for axis in range(3):
        idx[:, axis] = np.clip(idx[:, axis], 0, mask.shape[axis] - 1)
    mask[idx[:, 0], idx[:, 1], idx[:, 2]] = 1
    hdr = work.hdr.copy()
    hdr.set_data_dtype(np.uint8)
    out = Image(mask, hdr=hdr, affine=work.affine)
    out.change_orientation(orientation)
    return out
