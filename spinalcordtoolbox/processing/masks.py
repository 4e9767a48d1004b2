"""Masks around the spinal cord (the engine of ``sct_create_mask``).

A mask is a stack of axial shapes (cylinder: disk; box: square; gaussian: 2-D Gaussian)
centred in each slice of the RPI-reoriented image on a given point, the centre of the field
of view, or a centerline, then returned on the input's grid and orientation.

Two size conventions:
- ``"established"`` (default, the established toolbox's): the size is turned into a whole
  number of voxels n per axis (round(size_mm / voxel size)) and a radius r = ceil((n - 1) / 2)
  voxels: a box is |dx| <= r (``-size 20``: 21 x 21 voxels), a cylinder the ellipse of radii
  (r_x, r_y) voxels, a gaussian exp(-d^2 / 2 r^2) with sigma = r voxels; the field-of-view
  centre is voxel (round(nx / 2), round(ny / 2)).
- ``"exact"``: sizes are physical diameters in mm (box side, cylinder diameter, gaussian full
  width at half maximum), whatever the voxel size; the field-of-view centre is its geometric
  centre ((nx - 1) / 2, (ny - 1) / 2).
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid

SHAPES = ("cylinder", "box", "gaussian")
CONVENTIONS = ("established", "exact")
POSITIONS = ("coord", "point", "center", "centerline")


def parse_size(text: str, pixdim_x: float) -> float:
    """'35mm' -> 35.0 mm; '41' -> 41 voxels -> mm with the in-plane voxel size."""
    text = str(text).strip().lower()
    try:
        if text.endswith("mm"):
            size = float(text[:-2])
        else:
            size = float(text) * pixdim_x
    except ValueError:
        raise ImageError(f"Invalid -size '{text}': a number of voxels or a length such as 35mm") from None
    if not 0 < size < float("inf"):
        raise ImageError(f"-size must be a positive finite number, got '{text}'")
    return size


def radii_in_voxels(text: str, pixdim) -> tuple[float, float]:
    """The established toolbox's radii (r_x, r_y) in voxels for a -size text ('35mm' or '41')."""
    text = str(text).strip().lower()
    if text.endswith("mm"):
        size = parse_size(text, pixdim[0])
        counts = [int(np.round(size / p)) for p in pixdim[:2]]
    else:
        parse_size(text, pixdim[0])   # validates
        counts = [int(float(text))] * 2
    return tuple(float(np.ceil((n - 1) / 2.0)) for n in counts)


def centres_per_slice(img_rpi: Image, method: str, arg=None, convention="exact") -> np.ndarray:
    """(nz, 2) x, y centre (RPI voxel coordinates, float) of the mask in every slice.

    method: ``coord`` (arg = (x, y) in the RPI grid), ``point`` (arg = label Image, one
    point), ``center`` (centre of the field of view), ``centerline`` (arg = segmentation or
    centerline Image; fitted centerline, extrapolated to every slice).
    """
    nx, ny, nz = img_rpi.data.shape[:3]
    if method == "coord":
        x, y = arg
        if not (0 <= x < nx and 0 <= y < ny):
            raise ImageError(f"Position {x},{y} is outside the image ({nx}x{ny} in RPI orientation)")
        return np.tile([float(x), float(y)], (nz, 1))
    if method == "center":
        if convention == "established":
            return np.tile([np.round(nx / 2), np.round(ny / 2)], (nz, 1))
        return np.tile([(nx - 1) / 2, (ny - 1) / 2], (nz, 1))
    if method == "point":
        label = arg.copy().require_3d("label image")
        check_same_grid(img_rpi, label.change_orientation("RPI"), names=("image", "label image"))
        pts = np.argwhere(label.data != 0)
        if len(pts) != 1:
            raise ImageError(f"The point image must hold exactly one non-zero voxel, found {len(pts)}")
        return np.tile(pts[0][:2].astype(float), (nz, 1))
    if method == "centerline":
        from spinalcordtoolbox.centerline.core import get_centerline

        seg = arg.copy().require_3d("centerline image")
        check_same_grid(img_rpi, seg.copy().change_orientation("RPI"), names=("image", "centerline image"))
        if not np.any(seg.data):
            raise ImageError("The centerline/segmentation image is empty")
        _, arr_ctl, _, _ = get_centerline(seg, algo="bspline", minmax=False)
        centres = np.full((nz, 2), np.nan)
        zs = np.rint(arr_ctl[2]).astype(int)
        ok = (zs >= 0) & (zs < nz)
        centres[zs[ok]] = arr_ctl[:2, ok].T
        if np.isnan(centres).any():  # slices the fit did not reach: nearest fitted point
            known = np.flatnonzero(~np.isnan(centres[:, 0]))
            for axis in range(2):
                centres[:, axis] = np.interp(np.arange(nz), known, centres[known, axis])
        return centres
    from spinalcordtoolbox.utils.cli import choice_error
    raise choice_error("position method", method, POSITIONS)


def mask_slices(shape, pixdim, centres, size_mm: float, kind: str, radii_vox=None) -> np.ndarray:
    """Axial shapes of diameter ``size_mm`` centred on ``centres`` (nz, 2), in the RPI grid.

    ``radii_vox`` = (r_x, r_y): the established convention instead (see the module docstring).
    """
    if kind not in SHAPES:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("mask shape", kind, SHAPES)
    nx, ny, nz = shape
    gx, gy = np.meshgrid(np.arange(nx) * pixdim[0], np.arange(ny) * pixdim[1], indexing="ij")
    out = np.zeros(shape, dtype=np.float32 if kind == "gaussian" else np.uint8)
    if radii_vox is not None:
        rx, ry = radii_vox
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        for z in range(nz):
            dx, dy = ix - centres[z, 0], iy - centres[z, 1]
            if kind == "box":
                out[:, :, z] = (np.abs(dx) <= rx) & (np.abs(dy) <= ry)
            elif kind == "cylinder":
                out[:, :, z] = (dx / max(rx, 1e-9)) ** 2 + (dy / max(ry, 1e-9)) ** 2 <= 1
            else:
                out[:, :, z] = np.exp(-(dx ** 2 + dy ** 2) / (2 * max(rx, 1e-9) ** 2))
        return out
    for z in range(nz):
        dx = gx - centres[z, 0] * pixdim[0]
        dy = gy - centres[z, 1] * pixdim[1]
        if kind == "cylinder":
            out[:, :, z] = dx ** 2 + dy ** 2 <= (size_mm / 2) ** 2
        elif kind == "box":
            out[:, :, z] = (np.abs(dx) <= size_mm / 2) & (np.abs(dy) <= size_mm / 2)
        else:
            sigma = size_mm / (2 * np.sqrt(2 * np.log(2)))  # size = full width at half maximum
            out[:, :, z] = np.exp(-(dx ** 2 + dy ** 2) / (2 * sigma ** 2))
    return out


def create_mask(img: Image, method: str, arg=None, size="41", kind="cylinder",
                convention="established") -> Image:
    """Mask on ``img``'s grid and orientation (uint8; float32 for gaussian); ``convention``:
    see the module docstring."""
    from spinalcordtoolbox.image import empty_like

    ref = img.copy()
    if ref.data.ndim == 4:  # a 4-D series: the mask applies to every volume
        ref = Image(ref.data[..., 0], hdr=ref.hdr, affine=ref.affine)
    ref.require_3d("image")
    orientation = ref.orientation
    ref_rpi = ref.change_orientation("RPI")
    if convention not in CONVENTIONS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("size convention", convention, CONVENTIONS)
    size_mm = parse_size(size, ref_rpi.pixdim[0])
    radii = radii_in_voxels(size, ref_rpi.pixdim) if convention == "established" else None
    centres = centres_per_slice(ref_rpi, method, arg, convention)
    data = mask_slices(ref_rpi.data.shape, ref_rpi.pixdim, centres, size_mm, kind, radii_vox=radii)
    mask = empty_like(ref_rpi, data)
    return mask.change_orientation(orientation)
