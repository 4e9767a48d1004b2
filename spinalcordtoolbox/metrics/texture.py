"""GLCM texture features per voxel, within a mask, slice by slice.

For every voxel whose (2d+1) x (2d+1) in-plane window (d = GLCM distance) lies entirely inside
the mask and the slice, the grey-level co-occurrence matrix (GLCM) of the window is taken for each
angle, symmetric and normalised, as scikit-image's ``graycomatrix(window, [d], [angle],
symmetric=True, normed=True)``, and its ``graycoprops`` features are written at that voxel.

The matrices are never formed: a symmetric normalised GLCM is the distribution of the ordered
pixel pairs (a, b) and (b, a) of the window at the angle's offset, so every feature is a statistic
of those pairs, computed for all voxels of a slice at once (contrast = mean (a-b)^2,
dissimilarity = mean |a-b|, homogeneity = mean 1/(1+(a-b)^2), ASM = sum of squared pair
frequencies, energy = sqrt(ASM), correlation = pair covariance / variance, 1 for a flat window,
as scikit-image defines them). Per-voxel calls to scikit-image take about 10 ms each here (hours
on a whole cord); the tests check the two agree to 1e-9 on random windows.

Grey levels: images whose values inside the mask are integers in 0..255 are used as they are;
other images are rescaled linearly from their range inside the mask to 0..255 and rounded (the
established toolbox casts to uint8 instead, which wraps values above 255 around).
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, check_same_grid
from spinalcordtoolbox.utils.cli import SCTError

logger = logging.getLogger(__name__)

FEATURES = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM")
#: slicing orientation of each -dim: texture is computed in the planes of the first two axes
DIM_ORIENTATION = {"ax": "RPI", "sag": "IPR", "cor": "IRP"}
LEVELS = 256


def canonical_feature(name: str) -> str:
    for f in FEATURES:
        if f.lower() == name.strip().lower():
            return f
    from spinalcordtoolbox.utils.cli import choice_error
    raise choice_error("GLCM feature", name, FEATURES)


def _round_half_away(v: float) -> int:
    return int(np.sign(v) * np.floor(abs(v) + 0.5))


def glcm_offset(angle_deg: float, distance: int):
    """(row, column) offset of scikit-image's GLCM for an angle [deg] and a distance [pixels]."""
    a = np.radians(angle_deg)
    return _round_half_away(np.sin(a) * distance), _round_half_away(np.cos(a) * distance)


def window_features(windows: np.ndarray, distance: int, angle_deg: float, features) -> dict:
    """Features of the symmetric normalised GLCM of each window ``windows[k]`` (k, n, n)."""
    w = np.asarray(windows, dtype=np.float64)
    n = w.shape[1]
    dr, dc = glcm_offset(angle_deg, distance)
    r0, r1 = max(0, -dr), min(n, n - dr)
    c0, c1 = max(0, -dc), min(n, n - dc)
    a = w[:, r0:r1, c0:c1].reshape(len(w), -1)
    b = w[:, r0 + dr:r1 + dr, c0 + dc:c1 + dc].reshape(len(w), -1)
    out = {}
    diff = a - b
    if "contrast" in features:
        out["contrast"] = np.mean(diff ** 2, axis=1)
    if "dissimilarity" in features:
        out["dissimilarity"] = np.mean(np.abs(diff), axis=1)
    if "homogeneity" in features:
        out["homogeneity"] = np.mean(1.0 / (1.0 + diff ** 2), axis=1)
    if "ASM" in features or "energy" in features:
        # the symmetric GLCM counts (a, b) and (b, a): sum over distinct pairs of count^2 / total^2
        ei, ej = np.concatenate([a, b], axis=1), np.concatenate([b, a], axis=1)
        keys = np.sort((ei * LEVELS + ej).astype(np.int64), axis=1)
        m = keys.shape[1]
        new = np.ones(keys.shape, bool)
        new[:, 1:] = keys[:, 1:] != keys[:, :-1]
        run = np.cumsum(new, axis=1) - 1 + (np.arange(len(keys)) * m)[:, None]
        counts = np.bincount(run.ravel(), minlength=len(keys) * m).reshape(len(keys), m)
        asm = np.sum(counts.astype(np.float64) ** 2, axis=1) / m ** 2
        if "ASM" in features:
            out["ASM"] = asm
        if "energy" in features:
            out["energy"] = np.sqrt(asm)
    if "correlation" in features:
        ei, ej = np.concatenate([a, b], axis=1), np.concatenate([b, a], axis=1)
        mu = ei.mean(axis=1, keepdims=True)
        var = np.mean((ei - mu) ** 2, axis=1)
        cov = np.mean((ei - mu) * (ej - mu), axis=1)
        std = np.sqrt(var)
        flat = std < 1e-15
        corr = np.ones(len(w))
        corr[~flat] = cov[~flat] / var[~flat]
        out["correlation"] = corr
    return out


def grey_levels(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Integer grey levels 0..255 (values kept when they already are, else rescaled in the mask)."""
    values = data[mask]
    if values.size == 0:
        raise SCTError("The mask is empty")
    if not np.all(np.isfinite(values)):
        raise SCTError("The image has non-finite values inside the mask")
    if np.all(values == np.round(values)) and values.min() >= 0 and values.max() < LEVELS:
        return np.rint(np.nan_to_num(data)).clip(0, LEVELS - 1)
    lo, hi = float(values.min()), float(values.max())
    logger.info("Grey levels: values %.4g..%.4g inside the mask rescaled to 0..%d", lo, hi, LEVELS - 1)
    scale = (LEVELS - 1) / (hi - lo) if hi > lo else 0.0
    return np.rint((np.nan_to_num(data) - lo) * scale).clip(0, LEVELS - 1)


def compute_texture(im: Image, im_mask: Image, features=FEATURES, distance=1, angles=(0, 45, 90, 135),
                    dim="ax") -> dict:
    """``{(feature, angle or 'mean'): Image}`` on the grid and orientation of ``im``."""
    from numpy.lib.stride_tricks import sliding_window_view

    if dim not in DIM_ORIENTATION:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("dimension (-dim)", dim, DIM_ORIENTATION)
    features = [canonical_feature(f) for f in features]
    if int(distance) != distance or distance < 1:
        raise SCTError(f"-distance must be a positive integer, got {distance}")
    distance = int(distance)
    im = im.copy().require_3d("image")
    im_mask = im_mask.copy().require_3d("mask")
    check_same_grid(im_mask, im, names=("mask", "image"))
    orientation = im.orientation
    im.change_orientation(DIM_ORIENTATION[dim])
    mask = np.asarray(im_mask.change_orientation(DIM_ORIENTATION[dim]).data) != 0
    levels = grey_levels(np.asarray(im.data, dtype=np.float64), mask)
    k = 2 * distance + 1
    nx, ny, nz = levels.shape
    if nx < k or ny < k:
        raise SCTError(f"The slices ({nx}x{ny}) are smaller than the GLCM window ({k}x{k})")
    maps = {(f, a): np.zeros(levels.shape) for f in features for a in angles}
    n_voxels = 0
    for z in range(nz):
        if not mask[:, :, z].any():
            continue
        # voxels whose whole window lies in the mask (and hence in the slice)
        inside = sliding_window_view(mask[:, :, z], (k, k)).all(axis=(2, 3))
        xs, ys = np.nonzero(inside)
        if xs.size == 0:
            continue
        n_voxels += xs.size
        windows = sliding_window_view(levels[:, :, z], (k, k))[xs, ys]
        for a in angles:
            for f, values in window_features(windows, distance, a, features).items():
                maps[(f, a)][xs + distance, ys + distance, z] = values
    if n_voxels == 0:
        raise SCTError(f"No voxel of the mask has its whole {k}x{k} window inside the mask")
    logger.info("Texture computed at %d voxels", n_voxels)
    out = {}
    for f in features:
        maps[(f, "mean")] = np.mean([maps[(f, a)] for a in angles], axis=0)
    for key, data in maps.items():
        result = Image(data, hdr=im.hdr, affine=im.affine)
        result.hdr.set_data_dtype(np.float64)
        out[key] = result.change_orientation(orientation)
    return out
