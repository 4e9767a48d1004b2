"""Post-processing of binary segmentations: threshold, largest component, holes, small objects.

Each function takes and returns a numpy array (boolean or label map) so that it can be used on
any segmentation, not only those of ``sct_deepseg``.
"""
from __future__ import annotations

import re

import numpy as np


def threshold(probabilities: np.ndarray, thr: float) -> np.ndarray:
    """Binary mask of voxels with probability >= ``thr`` (0 < thr < 1)."""
    if not 0 <= thr <= 1:
        raise ValueError(f"-thr must be between 0 and 1, got {thr}")
    return probabilities >= thr


def keep_largest_object(mask: np.ndarray) -> np.ndarray:
    """Keep the largest 3-D connected component (26-connectivity) of a binary mask."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if n <= 1:
        return mask.astype(bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill holes in 3-D, then slice by slice along the last (axial, in RPI) axis."""
    from scipy import ndimage

    out = ndimage.binary_fill_holes(mask)
    for z in range(out.shape[2]):
        out[:, :, z] = ndimage.binary_fill_holes(out[:, :, z])
    return out


def parse_size(text: str):
    """``"10mm3"`` -> (10.0, "mm3"); ``"5vox"`` / ``"5"`` -> (5.0, "vox")."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(mm3|vox)?\s*", str(text))
    if not m:
        raise ValueError(f"-remove-small expects a size like '10mm3' or '5vox', got '{text}'")
    return float(m.group(1)), m.group(2) or "vox"


def remove_small_objects(mask: np.ndarray, size: float, unit="vox", voxel_volume=1.0) -> np.ndarray:
    """Remove connected components (26-connectivity) smaller than ``size`` voxels or mm3."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if n == 0:
        return mask.astype(bool)
    min_vox = size / voxel_volume if unit == "mm3" else size
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_vox
    keep[0] = False
    return keep[labels]
