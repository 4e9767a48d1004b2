"""Cropping of images: by index bounds, by the bounding box of a mask, or to a reference's extent.

Bounds are inclusive voxel indices of the input grid; negative values count from the end
(-1 = last voxel). Cropped images keep the world position of every voxel. With a
background value, voxels outside the box are set to it instead of being cut away.
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid, crop_image


def _resolve(lo, hi, n, axis):
    lo = 0 if lo is None else int(lo)
    hi = n - 1 if hi is None else int(hi)
    lo = lo + n if lo < 0 else lo
    hi = hi + n if hi < 0 else hi
    if not (0 <= lo <= hi < n):
        raise ImageError(f"Invalid crop range along {axis}: [{lo}, {hi}] for an axis of {n} voxels")
    return lo, hi


def bbox_from_indices(shape, xmin=None, xmax=None, ymin=None, ymax=None, zmin=None, zmax=None):
    """Inclusive bounds ((x0, x1), (y0, y1), (z0, z1)) with negative indices resolved."""
    return tuple(_resolve(lo, hi, n, ax) for (lo, hi), n, ax in
                 zip(((xmin, xmax), (ymin, ymax), (zmin, zmax)), shape[:3], "xyz"))


def bbox_from_mask(mask: Image, dilate=(0, 0, 0)):
    """Inclusive bounds of the non-zero voxels of ``mask``, enlarged by ``dilate`` voxels per axis."""
    idx = np.argwhere(mask.data[..., 0] if mask.data.ndim == 4 else mask.data)
    if idx.size == 0:
        raise ImageError("The cropping mask is empty")
    dilate = list(dilate) * 3 if len(dilate) == 1 else list(dilate)
    if len(dilate) != 3:
        raise ImageError("-dilate takes one value or three (x,y,z)")
    shape = mask.data.shape[:3]
    lo = np.maximum(idx.min(axis=0)[:3] - dilate, 0)
    hi = np.minimum(idx.max(axis=0)[:3] + dilate, np.array(shape) - 1)
    return tuple((int(a), int(b)) for a, b in zip(lo, hi))


def bbox_from_reference(img: Image, ref: Image, extent="centres"):
    """Inclusive bounds of the part of ``img`` that lies within the reference.

    ``extent="centres"`` (the established toolbox's ``-ref``): the bounding box of the voxels
    whose centre falls inside the hull of the reference's voxel centres on a non-zero
    reference voxel (the reference resampled nearest-neighbour onto ``img``'s grid).
    ``extent="edges"``: every voxel whose centre lies within the reference's field of view
    (its outer voxel edges), half a reference voxel larger on each side.
    """
    if extent == "centres":
        from spinalcordtoolbox.resampling import resample_to_grid

        data = ref.data if ref.data.ndim == 3 else ref.data.reshape(ref.data.shape[:3] + (-1,))[..., 0]
        nonzero = Image((data != 0).astype(np.uint8), hdr=ref.hdr, affine=ref.affine)
        on_img = resample_to_grid(nonzero, img.data.shape[:3], img.affine, "nn")
        if not on_img.data.any():
            raise ImageError("The reference image does not overlap the input image")
        return bbox_from_mask(on_img)
    if extent != "edges":
        raise ImageError(f"Unknown reference extent '{extent}' (centres or edges)")
    corners = np.array([[i, j, k] for i in (-0.5, ref.data.shape[0] - 0.5)
                        for j in (-0.5, ref.data.shape[1] - 0.5) for k in (-0.5, ref.data.shape[2] - 0.5)])
    vox = img.transfo_phys2pix(ref.transfo_pix2phys(corners))
    # keep the voxels whose centre lies inside the reference's field of view
    lo = np.maximum(np.ceil(vox.min(axis=0) - 1e-3), 0).astype(int)
    hi = np.minimum(np.floor(vox.max(axis=0) + 1e-3), np.array(img.data.shape[:3]) - 1).astype(int)
    if np.any(hi < lo):
        raise ImageError("The reference image does not overlap the input image")
    return tuple((int(a), int(b)) for a, b in zip(lo, hi))


def crop(img: Image, bbox, background=None) -> Image:
    """Crop to ``bbox`` (inclusive bounds per axis), or keep the grid and set the outside to ``background``."""
    (x0, x1), (y0, y1), (z0, z1) = bbox
    if background is None:
        return crop_image(img, x0, x1, y0, y1, z0, z1)
    out = img.copy()
    keep = np.zeros(img.data.shape[:3], dtype=bool)
    keep[x0:x1 + 1, y0:y1 + 1, z0:z1 + 1] = True
    if img.data.dtype.kind in "iu":
        info = np.iinfo(img.data.dtype)
        if not info.min <= background <= info.max or background != int(background):
            raise ImageError(f"Background value {background} does not fit the image type {img.data.dtype}")
    out.data[~keep] = background
    return out


def crop_with(img: Image, mask: Image | None = None, ref: Image | None = None, dilate=(0,),
              background=None, ref_extent="centres", **bounds) -> Image:
    """Crop by mask bounding box, by reference extent (see :func:`bbox_from_reference`), or by
    index bounds (xmin=..., zmax=...)."""
    if mask is not None and ref is not None:
        raise ImageError("Give either a mask or a reference image, not both")
    if mask is not None:
        check_same_grid(img, mask, names=("image", "mask"))
        bbox = bbox_from_mask(mask, dilate)
    elif ref is not None:
        bbox = bbox_from_reference(img, ref, ref_extent)
    else:
        bbox = bbox_from_indices(img.data.shape, **bounds)
    return crop(img, bbox, background)
