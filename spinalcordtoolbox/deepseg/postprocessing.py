"""Post-processing of segmentations: threshold, largest object, hole filling, small objects.

The rules are the established toolbox's (``sct_deepseg -thr/-largest/-fill-holes/-remove-small``),
applied in that order to each output:

- threshold: ``data > thr`` (strictly); ``thr`` = 0 (or None) leaves the output as it is;
- largest object: values below 0.001 are zeroed, then connected regions of equal non-zero value
  are found with full (26-) connectivity and all but the largest are zeroed (first in raster
  order on a tie);
- fill holes: 3-D hole filling with a 3x3x3 structuring element (binary outputs only);
- remove small: connected components with 18-connectivity of the non-zero voxels; a size in
  mm3 is converted to voxels with ``round(size / voxel volume)``; components with fewer voxels
  are removed.

Each function takes and returns a numpy array, so it serves any segmentation.
"""
from __future__ import annotations

import re

import numpy as np


def check_threshold(thr):
    """Raise for a threshold outside [0, 1] (checked before any work)."""
    if thr is not None and not 0 <= thr <= 1:
        raise ValueError(f"-thr must be between 0 and 1 (0: no binarisation), got {thr}")


def threshold(data: np.ndarray, thr) -> np.ndarray:
    """``data > thr`` as uint8; ``thr`` 0 or None: ``data`` unchanged."""
    check_threshold(thr)
    if not thr:
        return data
    return (data > thr).astype(np.uint8)


def keep_largest_object(data: np.ndarray) -> np.ndarray:
    """Zero every connected region but the largest (see the module docstring)."""
    from skimage.measure import label

    data = np.array(data, copy=True)
    data[data < 0.001] = 0
    labels = label(data, background=0, connectivity=data.ndim)
    sizes = np.bincount(labels.ravel())
    if len(sizes) > 2:
        data[labels != int(np.argmax(sizes[1:])) + 1] = 0
    return data


def is_binary(data: np.ndarray) -> bool:
    return bool(np.isin(data, (0, 1)).all())


def fill_holes(data: np.ndarray) -> np.ndarray:
    """Fill the holes of a binary mask in 3-D (3x3x3 structuring element)."""
    from scipy import ndimage

    if not is_binary(data):
        raise ValueError("-fill-holes needs a binary segmentation (use -thr to binarise a soft one)")
    return ndimage.binary_fill_holes(data, structure=np.ones((3,) * data.ndim)).astype(np.uint8)


def parse_sizes(values) -> tuple[list[float], str]:
    """``-remove-small`` values: ``["10mm3"]`` -> ([10.0], "mm3"); ``["5", "5vox"]`` -> ([5, 5], "vox").

    As in the established toolbox, the unit of the last value applies to all of them."""
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        raise ValueError("-remove-small needs a size, e.g. '10mm3' or '5vox'")
    unit = "mm3" if str(values[-1]).strip().endswith("mm3") else "vox"
    sizes = []
    for text in values:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(mm3|vox)?\s*", str(text))
        if not m:
            raise ValueError(f"-remove-small expects a size like '10mm3' or '5vox', got '{text}'")
        sizes.append(float(m.group(1)))
    return sizes, unit


def parse_size(text: str):
    """One ``-remove-small`` value: ``"10mm3"`` -> (10.0, "mm3")."""
    sizes, unit = parse_sizes([text])
    return sizes[0], unit


def remove_small_objects(data: np.ndarray, size: float, unit="vox", voxel_volume=1.0) -> np.ndarray:
    """Zero the 18-connected components with fewer voxels than ``size`` (voxels or mm3)."""
    from scipy import ndimage

    data = np.array(data, copy=True)
    labels, n = ndimage.label(data != 0, structure=ndimage.generate_binary_structure(3, 2))
    if n == 0:
        return data
    min_vox = np.round(size / voxel_volume) if unit == "mm3" else size
    counts = np.bincount(labels.ravel())
    small = counts < min_vox
    small[0] = False
    data[small[labels]] = 0
    return data
