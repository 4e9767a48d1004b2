"""Resampling of images onto new voxel grids, keeping world coordinates.

A new grid covers the same field of view as the old one (the outer voxel edges stay where
they were); each output voxel centre is mapped into the input grid through the affines and
interpolated there (nearest neighbour and trilinear in numpy, cubic splines with scipy's
``map_coordinates``). Point-label images are resampled as points
(``interpolation="label"``): every label moves to the output voxel nearest to its world
position, so no label is lost or duplicated, whatever the change of resolution.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

logger = logging.getLogger(__name__)

INTERPOLATIONS = {"nn": 0, "linear": 1, "spline": 3, "label": None}
_CHUNK = 1 << 16  # output voxels interpolated at once (~1.5 MB per coordinate array)


def sample_at(vol: np.ndarray, src: np.ndarray, order: int, cval=0.0) -> np.ndarray:
    """Values of ``vol`` at voxel coordinates ``src`` (3, N), ``cval`` outside [0, n-1] on any axis.

    Nearest neighbour and trilinear in numpy give the numbers of scipy's ``map_coordinates``
    (``mode="constant"``) without importing scipy.ndimage, whose import alone
    (scipy.sparse, scipy.linalg...) costs ~30 MB and is the bulk of a light command's memory;
    cubic splines (order 3) use scipy.
    """
    if order > 1:
        from scipy import ndimage
        return ndimage.map_coordinates(vol, src, order=order, mode="constant", cval=cval, prefilter=False)
    if src.shape[1] > _CHUNK:  # bounded temporaries on large grids (QC mosaics)
        return np.concatenate([sample_at(vol, src[:, k:k + _CHUNK], order, cval)
                               for k in range(0, src.shape[1], _CHUNK)])
    shape = np.array(vol.shape)[:, None]
    inside = np.all((src >= 0) & (src <= shape - 1), axis=0)
    out = np.full(src.shape[1], cval, dtype=np.float64)
    pts = src[:, inside]
    if order == 0:
        idx = np.floor(pts + 0.5).astype(np.intp)
        out[inside] = vol[idx[0], idx[1], idx[2]]
        return out
    lo = np.minimum(np.floor(pts).astype(np.intp), np.maximum(shape - 2, 0))
    frac = pts - lo
    hi = np.minimum(lo + 1, shape - 1)
    acc = np.zeros(pts.shape[1], dtype=np.float64)
    for cx in (0, 1):
        wx = frac[0] if cx else 1 - frac[0]
        ix = hi[0] if cx else lo[0]
        for cy in (0, 1):
            wxy = wx * (frac[1] if cy else 1 - frac[1])
            iy = hi[1] if cy else lo[1]
            for cz in (0, 1):
                w = wxy * (frac[2] if cz else 1 - frac[2])
                acc += w * vol[ix, iy, hi[2] if cz else lo[2]]
    out[inside] = acc
    return out


def parse_dims(text: str, kind: str) -> list[float]:
    """'0.5x0.5x1' -> [0.5, 0.5, 1.0] (``kind`` names the option in errors)."""
    try:
        values = [float(v) for v in str(text).lower().split("x")]
    except ValueError:
        raise ImageError(f"{kind}: expected values separated by 'x' (e.g. 1x1x2), got '{text}'") from None
    if len(values) not in (1, 3) or any(not 0 < v < float("inf") for v in values):
        raise ImageError(f"{kind}: expected 1 or 3 positive finite values separated by 'x', got '{text}'")
    return values * 3 if len(values) == 1 else values


def grid_for(img: Image, factor=None, mm=None, vox=None,
             anchor="fov") -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and affine of the new grid covering the image's field of view.

    Exactly one of ``factor`` (new shape = old shape x factor), ``mm`` (new voxel size) or
    ``vox`` (new shape) is given, each as 3 values for x, y, z. New voxel size = old voxel
    size x old shape / new shape. ``anchor``: ``"fov"`` keeps the outer edges of the field of
    view in place (the grids share their extent); ``"first_voxel"`` keeps the centre of the
    first voxel (the established toolbox's ``sct_resample``; the grid then ends up to half a
    voxel beyond the old field of view).
    """
    if sum(v is not None for v in (factor, mm, vox)) != 1:
        raise ImageError("Give exactly one of a resampling factor, a voxel size in mm, or a shape")
    shape = np.array(img.data.shape[:3], dtype=float)
    pix = np.array(img.pixdim, dtype=float)
    if factor is not None:
        new_shape = np.maximum(np.rint(shape * np.asarray(factor, float)), 1)
    elif mm is not None:
        new_shape = np.maximum(np.rint(shape * pix / np.asarray(mm, float)), 1)
    else:
        new_shape = np.asarray(vox, float)
        if np.any(new_shape < 1):
            raise ImageError(f"Invalid shape {vox}")
    scale = shape / new_shape  # new voxel size in units of old voxels
    # new voxel i has its centre at old voxel coordinate (i + 0.5) * scale - 0.5
    vox2vox = np.eye(4)
    vox2vox[:3, :3] = np.diag(scale)
    if anchor == "fov":
        vox2vox[:3, 3] = 0.5 * scale - 0.5
    elif anchor != "first_voxel":
        raise ImageError(f"Unknown grid anchor '{anchor}' (fov or first_voxel)")
    return tuple(int(n) for n in new_shape), img.affine @ vox2vox


def _grid_zooms(img: Image, affine) -> list[float]:
    """Voxel sizes of a grid: the header's exact values times the scale (17 stays 17, not
    16.999998 as the affine's column norms would give)."""
    stored = np.array(img.hdr["pixdim"][1:4], dtype=np.float64)
    scale = np.sqrt(np.sum((np.linalg.inv(img.affine) @ affine)[:3, :3] ** 2, axis=0))
    norms = np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))
    exact = stored * scale
    return [float(e) if abs(e - n) <= 1e-5 * n else float(n) for e, n in zip(exact, norms)]


def resample_to_grid(img: Image, shape, affine, interpolation="linear", fill="zero") -> Image:
    """Resample ``img`` (3-D or 4-D) onto the grid (shape, affine); world coordinates kept.

    ``fill``: value of output voxels outside the input's field of view: ``"zero"``, or
    ``"nearest"`` (the nearest edge value, as the established toolbox's ``sct_resample``).

    Memory stays bounded on large grids: output voxels are interpolated in slabs of at most
    ``_CHUNK`` voxels, so the coordinate arrays never hold the whole output grid.
    """
    if interpolation not in INTERPOLATIONS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("interpolation", interpolation, INTERPOLATIONS)
    if img.data.ndim not in (3, 4):
        raise ImageError(f"Cannot resample a {img.data.ndim}-D image")
    shape = tuple(int(s) for s in shape[:3])
    if interpolation == "label":
        return _resample_points(img, shape, affine)
    order = INTERPOLATIONS[interpolation]
    if fill not in ("zero", "nearest"):
        raise ImageError(f"Unknown fill '{fill}' (zero or nearest)")
    vox2vox = np.linalg.inv(img.affine) @ affine
    nt = 1 if img.data.ndim == 3 else img.data.shape[3]
    out_dtype = img.data.dtype if order == 0 else np.result_type(img.data.dtype, np.float32)
    data = np.zeros(shape + ((nt,) if img.data.ndim == 4 else ()), dtype=out_dtype)
    rows = max(1, _CHUNK // max(1, shape[1] * shape[2]))   # x-slabs of the output grid
    volumes = range(nt)
    if nt > 1:
        from spinalcordtoolbox.utils.cli import progress_bar
        volumes = progress_bar(volumes, desc="Resampling volumes", unit="vol")
    for t in volumes:
        vol = img.data if img.data.ndim == 3 else img.data[..., t]
        if order > 1:  # spline coefficients once per volume, not once per slab
            from scipy import ndimage
            vol = ndimage.spline_filter(vol.astype(np.float64), order=order)
        elif order == 1:
            vol = vol.astype(np.float64)
        for x0 in range(0, shape[0], rows):
            x1 = min(shape[0], x0 + rows)
            grid = np.indices((x1 - x0,) + shape[1:], dtype=np.float64).reshape(3, -1)
            grid[0] += x0
            # written out rather than a matrix product: a BLAS call would allocate its thread
            # buffers (~10 MB) for a 3x3 product
            src = np.empty_like(grid)
            for i in range(3):
                src[i] = (vox2vox[i, 0] * grid[0] + vox2vox[i, 1] * grid[1] + vox2vox[i, 2] * grid[2]
                          + vox2vox[i, 3])
                if fill == "nearest":  # outside the field of view: the nearest edge value
                    np.clip(src[i], 0, vol.shape[i] - 1, out=src[i])
            values = sample_at(vol, src, order)
            slab = values.reshape((x1 - x0,) + shape[1:]).astype(out_dtype)
            if img.data.ndim == 3:
                data[x0:x1] = slab
            else:
                data[x0:x1, ..., t] = slab
    out = Image(data, hdr=img.hdr, affine=affine)
    zooms = _grid_zooms(img, affine) + list(img.hdr.get_zooms()[3:])
    out.hdr.set_zooms(zooms[:data.ndim])
    if interpolation == "nn":
        _warn_lost_labels(img, out)
    return out


def _resample_points(img: Image, shape, affine) -> Image:
    """Move each non-zero voxel to the output voxel nearest its world position."""
    if img.data.ndim != 3:
        raise ImageError("Label resampling needs a 3-D label image")
    data = np.zeros(shape, dtype=img.data.dtype)
    points = np.argwhere(img.data != 0)
    if len(points):
        world = img.transfo_pix2phys(points)
        new = np.rint(world @ np.linalg.inv(affine)[:3, :3].T + np.linalg.inv(affine)[:3, 3]).astype(int)
        inside = np.all((new >= 0) & (new < np.array(shape)), axis=1)
        if not np.all(inside):
            lost = sorted(set(img.data[tuple(points[~inside].T)].tolist()))
            logger.warning("Labels outside the new grid were dropped: values %s", lost)
        data[tuple(new[inside].T)] = img.data[tuple(points[inside].T)]
    out = Image(data, hdr=img.hdr, affine=affine)
    out.hdr.set_zooms(np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0)))
    return out


def _warn_lost_labels(src: Image, out: Image):
    if src.data.dtype.kind not in "iu" or src.data.ndim != 3:
        return
    before = set(np.unique(src.data).tolist()) - {0}
    if len(before) > 100:
        return
    lost = before - set(np.unique(out.data).tolist())
    if lost:
        logger.warning("Nearest-neighbour resampling lost label values %s; for point labels use "
                       "-x label", sorted(lost))


def looks_like_point_labels(img: Image) -> bool:
    """A 3-D image of point labels: integer values, few non-zero voxels, each value once."""
    if img.data.ndim != 3:
        return False
    values = img.data[img.data != 0]
    if not 0 < values.size <= 1000 or not np.all(np.equal(np.mod(values, 1), 0)):
        return False
    return len(np.unique(values)) == values.size


def resample_image(img: Image, factor=None, mm=None, vox=None, ref: Image | None = None,
                   interpolation=None, anchor="fov", fill="zero") -> Image:
    """Resample by factor, to a voxel size in mm, to a shape, or onto a reference grid.

    ``interpolation=None`` chooses ``label`` for point-label images (see
    :func:`looks_like_point_labels`) and ``linear`` otherwise, and says which. ``anchor``
    (see :func:`grid_for`) and ``fill`` (see :func:`resample_to_grid`) choose the grid
    convention and the values outside the input's field of view.
    """
    if interpolation is None:
        interpolation = "label" if looks_like_point_labels(img) else "linear"
        logger.info("Interpolation: %s%s", interpolation,
                    " (point labels: each label moves to the nearest new voxel)" if interpolation == "label" else "")
    if ref is not None:
        if any(v is not None for v in (factor, mm, vox)):
            raise ImageError("Give either a reference image or a new resolution, not both")
        return resample_to_grid(img, ref.data.shape[:3], ref.affine, interpolation, fill=fill)
    shape, affine = grid_for(img, factor=factor, mm=mm, vox=vox, anchor=anchor)
    return resample_to_grid(img, shape, affine, interpolation, fill=fill)


def merge_images(images: list[Image], dest: Image, warps=None, interpolation="linear") -> Image:
    """Bring every image onto ``dest``'s grid and average them where they overlap.

    Each image is resampled (through its warping field when ``warps`` gives one per image,
    else through world coordinates) together with a field of ones marking its field of view;
    the result is sum(images) / sum(fields of view), 0 where no image covers a voxel.
    """
    if not images:
        raise ImageError("No image to merge")
    if warps is not None and len(warps) != len(images):
        raise ImageError(f"Give one warping field per image: {len(images)} images, {len(warps)} warps")
    dest = dest.copy().require_3d("destination image")
    total = np.zeros(dest.data.shape[:3])
    weight = np.zeros(dest.data.shape[:3])
    from spinalcordtoolbox.utils.cli import progress_bar

    # check every input before any work (and before the progress bar starts)
    images = [img.copy().require_3d(f"image {i + 1}") for i, img in enumerate(images)]
    for i, img in enumerate(progress_bar(images, desc="Merging images", unit="image")):
        ones = Image(np.ones(img.data.shape, dtype=np.float32), hdr=img.hdr, affine=img.affine)
        if warps:
            from spinalcordtoolbox.registration.warp import apply_transforms

            moved = apply_transforms(img, dest, [warps[i]], interp=interpolation)
            cover = apply_transforms(ones, dest, [warps[i]], interp="linear")
        else:
            moved = resample_to_grid(img, dest.data.shape, dest.affine, interpolation)
            cover = resample_to_grid(ones, dest.data.shape, dest.affine, "linear")
        total += np.asarray(moved.data, dtype=np.float64)
        weight += np.asarray(cover.data, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        data = np.where(weight > 1e-6, total / np.maximum(weight, 1e-6), 0.0)
    out = Image(data.astype(np.float32), hdr=dest.hdr, affine=dest.affine)
    out.hdr.set_data_dtype(np.float32)
    return out
