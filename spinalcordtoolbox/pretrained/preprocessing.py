"""Preprocessing shared by the pretrained networks: resampling to a given spacing, cropping
around the cord and back, and the intensity standardisations their training used.

All functions work on numpy arrays or :class:`Image` objects in the toolbox's RPI
orientation; none imports torch.
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

# Deciles (plus 1st/99th percentiles) used as landmarks by the Nyul-style standardisation
NYUL_PERCENTILES = (1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99)


# ---------------------------------------------------------------------- resampling
def _axis_map(n_old: int, spacing_old: float, spacing_new: float | None):
    """New size and the (scale, offset) mapping new voxel index -> old voxel index along one axis.

    Same grid as the established pipeline (the networks' training data were prepared on it):
    n_new = round(n_old * spacing_old / spacing_new) voxels spanning the old extent
    (spacing n_old * spacing_old / n_new), first voxel centres coinciding. Measured on
    t2s.nii.gz, a grid centred on the field of view instead shifts the content by a quarter
    of a voxel and costs deepseg_gm 0.02 Dice.
    """
    if spacing_new is None or np.isclose(spacing_new, spacing_old, rtol=1e-4):
        return n_old, 1.0, 0.0
    n_new = max(1, int(round(n_old * spacing_old / spacing_new)))
    return n_new, n_old / n_new, 0.0


def _linear_diagonal(data: np.ndarray, scale, offset, shape) -> np.ndarray:
    """Linear interpolation of ``data`` at old index = scale * new index + offset, per axis,
    positions beyond the edges taking the edge value.

    What ``scipy.ndimage.affine_transform(order=1, mode='nearest')`` computes for a diagonal
    matrix, done axis by axis in numpy: importing scipy.ndimage costs more than the whole
    resampling of a typical stack (~0.2 s of a 1 s segmentation).
    """
    out = data.astype(np.float32, copy=False)
    for axis, (n_new, s, o) in enumerate(zip(shape, scale, offset)):
        n_old = out.shape[axis]
        pos = np.clip(np.arange(n_new) * s + o, 0, n_old - 1)
        if n_old == 1 or (n_new == n_old and np.allclose(pos, np.arange(n_old))):
            out = np.take(out, np.zeros(n_new, int), axis=axis) if n_old == 1 else out
            continue
        low = np.minimum(np.floor(pos).astype(int), n_old - 2)
        frac = (pos - low).astype(np.float32).reshape([-1 if a == axis else 1 for a in range(out.ndim)])
        out = np.take(out, low, axis=axis) * (1 - frac) + np.take(out, low + 1, axis=axis) * frac
    return np.ascontiguousarray(out, dtype=np.float32)


def _affine_diagonal(data, scale, offset, shape, order):
    if order == 1:
        return _linear_diagonal(data, scale, offset, shape)
    from scipy.ndimage import affine_transform
    return affine_transform(data.astype(np.float32, copy=False), np.diag(scale), offset=offset,
                            output_shape=shape, order=order, mode="nearest", prefilter=order > 1)


def resample_to_spacing(img: Image, spacing, order: int = 1) -> Image:
    """Resample a 3-D image to ``spacing`` (mm per axis; None keeps that axis), linear by default.

    Returns a new float32 Image whose affine places every voxel at its true world position.
    """
    if img.data.ndim != 3:
        raise ImageError(f"Resampling needs a 3-D image, got shape {img.data.shape}")
    maps = [_axis_map(n, p, s) for n, p, s in zip(img.data.shape, img.pixdim, spacing)]
    shape = tuple(m[0] for m in maps)
    scale = np.array([m[1] for m in maps])
    offset = np.array([m[2] for m in maps])
    data = img.data.astype(np.float32, copy=False)
    if np.allclose(scale, 1) and np.allclose(offset, 0):
        out = data.copy()
    else:
        out = _affine_diagonal(data, scale, offset, shape, order)
    new_vox2old = np.diag(np.append(scale, 1.0))
    new_vox2old[:3, 3] = offset
    affine = img.affine @ new_vox2old
    hdr = img.hdr.copy()
    hdr.set_data_dtype(np.float32)
    res = Image(out, hdr=hdr, affine=affine)
    res.hdr.set_zooms(tuple(abs(z) for z in np.array(img.pixdim) * scale))
    res._set_affine_in_header(affine)
    return res


def resample_onto(data: np.ndarray, src: Image, ref: Image, order: int = 1) -> np.ndarray:
    """Values of ``data`` (on ``src``'s grid) interpolated at the voxel centres of ``ref``.

    Both grids must share their axes (same orientation, as produced by
    :func:`resample_to_spacing`), so the mapping is a per-axis scale and shift.
    """
    ref2src = np.linalg.inv(src.affine) @ ref.affine
    if not np.allclose(ref2src[:3, :3], np.diag(np.diag(ref2src[:3, :3])), atol=1e-4):
        raise ImageError("resample_onto needs grids with the same axes (use the same orientation)")
    # edge values beyond the edges (not zeros): a voxel centre landing a rounding error beyond
    # the last source slice must keep that slice's value
    return _affine_diagonal(data, np.diag(ref2src[:3, :3]), ref2src[:3, 3], ref.data.shape[:3], order)


# ---------------------------------------------------------------------- intensities
def scale_percentile(data: np.ndarray, low=2, high=98, out_max=255.0) -> np.ndarray:
    """Clip to the [low, high] percentiles and scale linearly onto [0, out_max]."""
    p_lo, p_hi = np.percentile(data, (low, high))
    if p_hi <= p_lo:
        return np.zeros_like(data, dtype=np.float32)
    out = (np.clip(data, p_lo, p_hi) - p_lo) / (p_hi - p_lo) * out_max
    return out.astype(np.float32)


def _exponential_tail(xs, ys, asymptote):
    """Map beyond the outer landmarks: y = a + b exp(g x), continuous with the last linear
    segment (same value and slope at ``xs[1]``) and tending to ``asymptote``."""
    (x1, x2), (y1, y2) = xs, ys
    slope = (y2 - y1) / (x2 - x1)
    intercept = y1 - slope * x1
    omega = slope * x2 - asymptote + intercept
    if omega == 0 or not np.isfinite(omega):
        return lambda x: intercept + slope * x
    gamma = slope / omega
    beta = omega * np.exp(-gamma * x2)
    return lambda x: asymptote + beta * np.exp(gamma * x)


def nyul_standardize(data: np.ndarray, landmarks, sample=None) -> np.ndarray:
    """Piecewise-linear mapping of the data's percentile landmarks onto learned ``landmarks``.

    Nyul et al. 2000 scale standardisation: the 1st, 10th ... 90th, 99th percentiles of
    ``data`` (or of ``sample``, the values that define them) go to the 11 learned values;
    intensities beyond the 1st/99th percentiles follow exponential tails. As in the pipeline
    the networks were trained with, the tails continue the 1st-10th and 80th-90th segments
    (so they jump slightly at the 1st and 99th percentiles).
    """
    landmarks = np.asarray(landmarks, dtype=float)
    data = np.asarray(data, dtype=float)
    current = np.percentile(data if sample is None else np.asarray(sample, dtype=float), NYUL_PERCENTILES)
    if np.any(np.diff(current) <= 0):
        raise ImageError("Cannot standardise intensities: the image has too few distinct values "
                         "(constant or nearly empty region around the cord)")
    out = np.interp(data, current, landmarks)
    below = data < current[0]
    if below.any():
        out[below] = _exponential_tail(current[:2], landmarks[:2], landmarks[0])(data[below])
    above = data > current[-1]
    if above.any():
        # the established pipeline fits the upper tail on the 80th-90th percentile segment
        out[above] = _exponential_tail(current[-3:-1], landmarks[-3:-1], landmarks[-1])(data[above])
    return out.astype(np.float32)


# ---------------------------------------------------------------------- cropping
def crop_window(centre: float, size: int, n: int) -> tuple[int, int]:
    """[start, end) of a ``size`` window around ``centre`` inside [0, n), shifted to fit.

    Same convention as the established pipeline (window slightly after the centre voxel).
    """
    start = int(centre) - size // 2 + 1
    end = start + size
    if end > n:
        end, start = n, max(n - size, 0)
    if start < 0:
        start, end = 0, min(size, n)
    return start, end


def crop_around_centerline(data: np.ndarray, centres, size: int, pad: bool = True):
    """Per-slice size x size crops of ``data`` (x, y, z) centred on ``centres[z]`` = (x, y) or None.

    Axes shorter than ``size`` are zero-padded (``pad``) or kept whole. Returns the crop stack
    and the per-slice (x_start, y_start), None where the slice has no centre.
    """
    nx, ny, nz = data.shape
    wx, wy = (size, size) if pad else (min(size, nx), min(size, ny))
    crops = np.zeros((wx, wy, nz), dtype=np.float32)
    starts = [None] * nz
    for z, c in enumerate(centres):
        if c is None:
            continue
        x0, x1 = crop_window(c[0], wx, nx)
        y0, y1 = crop_window(c[1], wy, ny)
        crops[: x1 - x0, : y1 - y0, z] = data[x0:x1, y0:y1, z]
        starts[z] = (x0, y0)
    return crops, starts


def uncrop(crops: np.ndarray, starts, shape) -> np.ndarray:
    """Inverse of :func:`crop_around_centerline` (zeros where nothing was cropped)."""
    out = np.zeros(shape, dtype=crops.dtype)
    wx, wy = crops.shape[:2]
    for z, s in enumerate(starts):
        if s is None:
            continue
        x0, y0 = s
        x1, y1 = min(x0 + wx, shape[0]), min(y0 + wy, shape[1])
        out[x0:x1, y0:y1, z] = crops[: x1 - x0, : y1 - y0, z]
    return out


def fill_missing_centres(centres):
    """Give slices without a centre the centre of the nearest slice that has one."""
    known = [z for z, c in enumerate(centres) if c is not None]
    if not known:
        return list(centres)
    return [c if c is not None else centres[min(known, key=lambda k: abs(k - z))]
            for z, c in enumerate(centres)]


def slice_centres_of_mass(mask: np.ndarray):
    """Per axial slice (axis 2): (x, y) centre of mass of a mask, or None where it is empty."""
    centres = []
    for z in range(mask.shape[2]):
        sl = mask[:, :, z]
        total = sl.sum()
        if total <= 0:
            centres.append(None)
            continue
        xs, ys = np.nonzero(sl)
        w = sl[xs, ys].astype(float)
        centres.append((float((xs * w).sum() / w.sum()), float((ys * w).sum() / w.sum())))
    return centres
