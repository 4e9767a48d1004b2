"""Agreement between two segmentations: Dice coefficient and surface distances.

Masks are the voxels above 0.5 (binary, labelled or soft segmentations alike). Distances
are in mm, measured between surface voxels (mask voxels with a background 6-neighbour)
with Euclidean distance transforms that take the voxel size into account.
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid


def _mask(data) -> np.ndarray:
    return np.asarray(data) > 0.5


def dice(a, b) -> float:
    """2|A∩B| / (|A| + |B|); NaN when both are empty."""
    a, b = _mask(a), _mask(b)
    total = a.sum() + b.sum()
    return float(2 * np.logical_and(a, b).sum() / total) if total else float("nan")


def dice_per_slice(a, b, axis=2) -> np.ndarray:
    """Dice of each 2-D slice along ``axis`` (NaN where both slices are empty)."""
    a, b = np.moveaxis(_mask(a), axis, 0), np.moveaxis(_mask(b), axis, 0)
    inter = np.logical_and(a, b).reshape(len(a), -1).sum(1)
    total = a.reshape(len(a), -1).sum(1) + b.reshape(len(b), -1).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2 * inter / np.maximum(total, 1), np.nan)


def _surface(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    eroded = ndimage.binary_erosion(mask, structure=ndimage.generate_binary_structure(mask.ndim, 1),
                                    border_value=0)
    return mask & ~eroded


def surface_distances(a, b, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Distances (mm) from each surface voxel of A to the surface of B, and from B to A."""
    from scipy import ndimage

    a, b = _mask(a), _mask(b)
    if not a.any() or not b.any():
        raise ImageError("Cannot compute distances with an empty segmentation")
    # work in the bounding box of both masks plus a background margin: same distances, and
    # the distance maps stay small on large images
    idx = np.argwhere(a | b)
    box = tuple(slice(lo, hi + 1) for lo, hi in zip(idx.min(0), idx.max(0)))
    a, b = np.pad(a[box], 1), np.pad(b[box], 1)
    sa, sb = _surface(a), _surface(b)
    dist_to_b = ndimage.distance_transform_edt(~sb, sampling=spacing)
    dist_to_a = ndimage.distance_transform_edt(~sa, sampling=spacing)
    return dist_to_b[sa], dist_to_a[sb]


def hausdorff(a, b, spacing) -> dict:
    """Hausdorff distance (max of both directed maxima) and mean symmetric surface distance, in mm."""
    d_ab, d_ba = surface_distances(a, b, spacing)
    return {"hausdorff": float(max(d_ab.max(), d_ba.max())),
            "mean": float(np.concatenate([d_ab, d_ba]).mean()),
            "max_a_to_b": float(d_ab.max()), "max_b_to_a": float(d_ba.max())}


def hausdorff_per_slice(a, b, spacing, axis=2) -> list:
    """2-D Hausdorff/mean distances of each slice along ``axis`` (None where a slice is empty)."""
    a, b = np.moveaxis(_mask(a), axis, 0), np.moveaxis(_mask(b), axis, 0)
    spacing2d = [s for i, s in enumerate(spacing) if i != axis]
    return [hausdorff(sa, sb, spacing2d) if sa.any() and sb.any() else None for sa, sb in zip(a, b)]


def compare_images(img1: Image, img2: Image) -> tuple[np.ndarray, np.ndarray, tuple]:
    """3-D arrays of two segmentations checked to be on the same grid, and the voxel size."""
    img1 = img1.copy().require_3d("first image")
    img2 = img2.copy().require_3d("second image")
    check_same_grid(img1, img2, names=("first image", "second image"))
    return img1.data, img2.data, img1.pixdim
