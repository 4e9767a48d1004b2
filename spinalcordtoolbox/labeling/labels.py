"""Point labels and vertebral labelling (the engine of ``sct_label_utils``).

A point label is one voxel whose value is the label id (3 = C2-C3 disc, 4 = C3-C4...).
Coordinates given or printed by users (``-create``, ``-display``) are voxel indices of the
input image as stored. Operations along the cord (``z``) work in the RPI-reoriented image
(z from inferior to superior) and return images on the input's grid and orientation.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid, zeros_like

logger = logging.getLogger(__name__)


class LabelError(ImageError):
    """Label operations that cannot be done as asked (absent value, empty image...)."""


# ----------------------------------------------------------------------- parsing
def parse_points(text: str, ncoords: int) -> list[tuple]:
    """'31,44,26,3:32,9,26,5' -> [(31, 44, 26, 3.0), (32, 9, 26, 5.0)] (``ncoords`` ints + value)."""
    points = []
    for item in filter(None, str(text).split(":")):
        parts = item.split(",")
        if len(parts) != ncoords + 1:
            raise LabelError(f"Label '{item}': expected {ncoords} coordinates and a value separated by ','")
        try:
            coords = tuple(int(p) for p in parts[:ncoords])
            value = float(parts[ncoords])
        except ValueError:
            raise LabelError(f"Label '{item}': coordinates must be integers and the value a number") from None
        if not np.isfinite(value) or value == 0:
            raise LabelError(f"Label '{item}': the value must be a finite non-zero number (0 means no label)")
        points.append(coords + (value,))
    if not points:
        raise LabelError("No label given")
    return points


def _rpi(img: Image) -> Image:
    return img.copy().change_orientation("RPI")


def _back(img_rpi: Image, like: Image) -> Image:
    out = img_rpi.change_orientation(like.orientation)
    out.absolutepath = None
    return out


def _label_image(like: Image, dtype=None) -> Image:
    """Empty image on ``like``'s grid to hold label values (float values kept when not integers)."""
    out = zeros_like(like, dtype=dtype or np.float32)
    out.absolutepath = None
    return out


def _store(out: Image, coords, value):
    arr = out.data
    if np.issubdtype(arr.dtype, np.integer) and value != int(value):
        out.data = arr = arr.astype(np.float32)
    arr[tuple(coords)] = value


# ---------------------------------------------------------------------- creation
def create_labels(like: Image, points, add_to: Image | None = None) -> Image:
    """Put value v at voxel (x, y, z) of ``like``'s grid for each (x, y, z, v); keep ``add_to``'s labels."""
    like.require_3d()
    out = add_to.copy() if add_to is not None else _label_image(like)
    if add_to is not None:
        out.absolutepath = None
    shape = like.data.shape[:3]
    for x, y, z, v in points:
        if not (0 <= x < shape[0] and 0 <= y < shape[1] and 0 <= z < shape[2]):
            raise LabelError(f"Label {x},{y},{z} is outside the image of shape {shape}")
        _store(out, (x, y, z), v)
    return out


def _slice_centre(seg_rpi: Image, z: int):
    xy = np.argwhere(seg_rpi.data[:, :, z] > 0)
    if not len(xy):
        raise LabelError(f"The segmentation is empty in slice z={z} (RPI)")
    w = seg_rpi.data[:, :, z][tuple(xy.T)].astype(float)
    return np.rint(np.average(xy, axis=0, weights=w)).astype(int)


def create_labels_along_seg(seg: Image, zv, mid="image") -> Image:
    """Labels at the segmentation's centre of mass in RPI slices z.

    z = -1 is the mid slice: with ``mid="image"`` (the established toolbox's convention, used by
    -create-seg-mid) the image's middle slice round(nz / 2) along I-S; with ``mid="segmentation"``
    the middle of the segmentation's extent.
    """
    seg_rpi = _rpi(seg.copy().require_3d("segmentation"))
    zs = np.unique(np.nonzero(seg_rpi.data)[2])
    if not len(zs):
        raise LabelError("The segmentation is empty")
    out = _label_image(seg_rpi)
    for z, v in zv:
        if z == -1:
            z = int(np.round(seg_rpi.data.shape[2] / 2)) if mid == "image" else int(round((zs[0] + zs[-1]) / 2))
        z = int(z)
        if not 0 <= z < seg_rpi.data.shape[2]:
            raise LabelError(f"Slice z={z} is outside the image (0 to {seg_rpi.data.shape[2] - 1}, RPI)")
        x, y = _slice_centre(seg_rpi, z)
        _store(out, (x, y, z), v)
    return _back(out, seg)


def cubic_to_point(img: Image, on_blob=False) -> Image:
    """Each label value (a blob of voxels) becomes one voxel at the blob's centre of mass.

    The centre is rounded to the nearest voxel (numpy rounding, as the established toolbox), which
    may lie outside a curved blob; ``on_blob``: take the blob's voxel nearest to the centre instead.
    """
    img = img.copy().require_3d("label image")
    out = _label_image(img, dtype=img.data.dtype)
    values = np.unique(img.data[img.data != 0])
    if not len(values):
        raise LabelError("The label image is empty")
    for v in values:
        idx = np.argwhere(img.data == v)
        if on_blob:
            centre = idx[np.argmin(np.sum((idx - idx.mean(axis=0)) ** 2, axis=1))]
        else:
            centre = np.round(idx.mean(axis=0)).astype(int)
        out.data[tuple(centre)] = v
    return out


# ----------------------------------------------------------------------- queries
def label_points(img: Image):
    """[(x, y, z, value)] of the non-zero voxels, sorted by value then position."""
    img = img.copy().require_3d("label image")
    pts = [(int(x), int(y), int(z), _number(v)) for x, y, z, v in img.nonzero_coords()]
    return sorted(pts, key=lambda p: (p[3], p[:3]))


def _number(v):
    v = float(v)
    return int(v) if v == int(v) else v


def display_text(img: Image) -> str:
    """'x,y,z,v:x,y,z,v' as the toolbox prints labels."""
    return ":".join(f"{x},{y},{z},{v}" for x, y, z, v in label_points(img))


def _check_present(img: Image, values):
    present = set(np.unique(img.data[img.data != 0]).tolist())
    absent = [v for v in values if v not in present]
    if absent:
        raise LabelError(f"Label value(s) {', '.join(str(_number(v)) for v in absent)} not found in the "
                         f"image (present: {', '.join(str(_number(v)) for v in sorted(present)) or 'none'})")


def keep_labels(img: Image, values) -> Image:
    """Keep only the labels with these values.

    Values absent from the image are skipped with a warning, as the established toolbox does
    (the course keeps discs 3 and 9 of images whose field of view may stop above disc 9); an
    error when none of them is present (the result would be empty).
    """
    present = set(np.unique(img.data[img.data != 0]).tolist())
    if not any(v in present for v in values):
        _check_present(img, values)
    absent = [v for v in values if v not in present]
    if absent:
        logger.warning("Label value(s) %s not found in the image: kept the others (%s)",
                       ", ".join(str(_number(v)) for v in absent),
                       ", ".join(str(_number(v)) for v in values if v in present))
    out = img.copy()
    out.data = np.where(np.isin(img.data, values), img.data, 0).astype(img.data.dtype)
    out.absolutepath = None
    return out


def remove_labels(img: Image, values) -> Image:
    """Remove the labels with these values (error if one is absent)."""
    _check_present(img, values)
    out = img.copy()
    out.data = np.where(np.isin(img.data, values), 0, img.data).astype(img.data.dtype)
    out.absolutepath = None
    return out


def remove_missing_from_reference(img: Image, ref: Image) -> Image:
    """Remove the labels of ``img`` whose value is not in ``ref``."""
    ref_values = np.unique(ref.data[ref.data != 0])
    out = img.copy()
    out.data = np.where(np.isin(img.data, ref_values), img.data, 0).astype(img.data.dtype)
    out.absolutepath = None
    removed = sorted(set(np.unique(img.data[img.data != 0]).tolist()) - set(ref_values.tolist()))
    if removed:
        logger.info("Removed labels not in the reference: %s", ", ".join(str(_number(v)) for v in removed))
    return out


def increment(img: Image) -> Image:
    """Renumber the labels 1, 2, 3... from the most superior one down."""
    img_rpi = _rpi(img.copy().require_3d("label image"))
    idx = np.argwhere(img_rpi.data != 0)
    if not len(idx):
        raise LabelError("The label image is empty")
    order = np.lexsort((idx[:, 1], idx[:, 0], -idx[:, 2]))
    out = _label_image(img_rpi, dtype=np.uint16 if len(idx) < 65535 else np.uint32)
    for rank, i in enumerate(order, start=1):
        out.data[tuple(idx[i])] = rank
    return _back(out, img)


# -------------------------------------------------------------- vertebral levels
#: Point labels that share the disc-label images but are no discs: 49/50 pontomedullary
#: groove/junction, 60 conus medullaris (sct_label_vertebrae writes 50 in its _labeled_discs).
NON_DISC_LABELS = (49, 50, 60)


def level_of_each_slice(disc_z: dict, n_slices: int, beyond_outer_discs: bool) -> np.ndarray:
    """Vertebral level of each RPI slice (NaN: none) from disc positions ``{value: z}``.

    The one rule behind every disc-to-level conversion: disc v lies between vertebrae v-1 and
    v (3 = C2-C3), so a slice belongs to the level of the nearest disc at or above it. Discs
    missing between two given ones are placed by linear interpolation of their z (a span with
    two missing discs is shared in three equal parts) and reported in a warning.

    ``beyond_outer_discs``: True (``sct_label_vertebrae``, ``sct_label_utils -disc``): slices
    above the highest disc v_top get v_top - 1 and those below the lowest disc its level.
    False (``sct_process_segmentation -discfile``): only levels closed by two discs exist;
    slices outside the outermost discs get none and the lowest disc's slice closes the level
    above it.
    """
    values = sorted(disc_z)
    zs = [float(disc_z[v]) for v in values]
    if any(z2 >= z1 for z1, z2 in zip(zs, zs[1:])):
        raise LabelError("Disc labels must go down (decreasing RPI z) as their value increases: "
                         + ", ".join(f"{v} at z={disc_z[v]:g}" for v in values))
    missing = [v for v in range(values[0], values[-1] + 1) if v not in disc_z]
    if missing:
        logger.warning("Disc labels %s missing: placed by linear interpolation between their neighbours",
                       ", ".join(map(str, missing)))
    all_values = np.arange(values[0], values[-1] + 1)
    all_z = np.interp(all_values, values, zs)
    slices = np.arange(n_slices)
    # index of the nearest disc at or above each slice (discs sorted superior first)
    n_above = np.searchsorted(-all_z, -slices, side="right")
    out = np.where(n_above > 0, all_values[np.maximum(n_above - 1, 0)], np.nan).astype(float)
    if beyond_outer_discs:
        out[n_above == 0] = values[0] - 1
    else:
        if len(all_values) < 2:
            return np.full(n_slices, np.nan)
        out[n_above == 0] = np.nan
        out[slices < all_z[-1]] = np.nan
        out[slices == all_z[-1]] = values[-1] - 1
    return out


def labelize_from_discs(seg: Image, discs: Image) -> Image:
    """Label each segmentation slice with its vertebral level from disc labels.

    Disc value v lies between vertebrae v-1 and v (3 = C2-C3), so slices from disc v down to
    the next disc belong to level v, and slices above the highest disc v_top to v_top - 1.
    Slices below the lowest disc get the level of the vertebra just below it. Discs missing
    between two given ones (e.g. 4 between 3 and 5) are placed by linear interpolation of
    their slice, with a warning, rather than merging two levels into one. The PMJ and conus
    labels (:data:`NON_DISC_LABELS`) are left out.
    """
    check_same_grid(seg, discs, names=("segmentation", "disc labels"))
    seg_rpi = _rpi(seg.copy().require_3d("segmentation"))
    disc_rpi = _rpi(discs.copy().require_3d("disc labels"))
    pts = np.argwhere(disc_rpi.data != 0)
    if not len(pts):
        raise LabelError("The disc label image is empty")
    disc_z = {}
    for x, y, z in pts:
        v = int(round(float(disc_rpi.data[x, y, z])))
        if v in NON_DISC_LABELS:
            continue
        if v in disc_z:
            raise LabelError(f"Disc label {v} appears more than once")
        disc_z[v] = z
    if not disc_z:
        raise LabelError(f"The disc label image holds no disc (only {', '.join(map(str, NON_DISC_LABELS))})")
    per_slice = level_of_each_slice(disc_z, seg_rpi.data.shape[2], beyond_outer_discs=True)
    out = _label_image(seg_rpi, dtype=np.uint8)
    for z in np.flatnonzero(~np.isnan(per_slice) & (per_slice >= 1)):
        out.data[:, :, z] = np.where(seg_rpi.data[:, :, z] > 0, int(per_slice[z]), 0)
    return _back(out, seg)


def vertebral_body_points(labeled_seg: Image, levels=None) -> Image:
    """One point per vertebral level at the centre of mass of that level's voxels (RPI grid,
    rounded to the nearest voxel, as the established toolbox)."""
    seg_rpi = _rpi(labeled_seg.copy().require_3d("labeled segmentation"))
    data = np.rint(seg_rpi.data).astype(int)
    present = sorted(set(np.unique(data).tolist()) - {0})
    if not present:
        raise LabelError("The labeled segmentation is empty")
    levels = present if not levels or levels == [0] else list(levels)
    _check_present(Image(data.astype(np.int32)), levels)
    out = _label_image(seg_rpi, dtype=np.uint8)
    for level in levels:
        x, y, z = np.round(np.argwhere(data == level).mean(axis=0)).astype(int)
        out.data[x, y, z] = level
    return _back(out, labeled_seg)


def continuous_vertebral_levels(labeled_seg: Image) -> Image:
    """Discrete levels -> continuous: level L runs from L (top slice) to L+1 (below the bottom slice)."""
    seg_rpi = _rpi(labeled_seg.copy().require_3d("labeled segmentation"))
    data = np.rint(seg_rpi.data).astype(int)
    levels = sorted(set(np.unique(data).tolist()) - {0})
    if not levels:
        raise LabelError("The labeled segmentation is empty")
    out = _label_image(seg_rpi, dtype=np.float32)
    for level in levels:
        zs = np.unique(np.nonzero(data == level)[2])
        top, n = zs.max(), zs.max() - zs.min() + 1
        for z in zs:
            value = level + (top - z) / n
            out.data[:, :, z] = np.where(data[:, :, z] == level, value, out.data[:, :, z])
    return _back(out, labeled_seg)


# ------------------------------------------------------------- geometry / errors
def project_on_centerline(labels: Image, seg: Image) -> Image:
    """Move each label to the nearest point (in mm) of the segmentation's per-slice centre line."""
    check_same_grid(labels, seg, names=("labels", "segmentation"))
    seg_rpi = _rpi(seg.copy().require_3d("segmentation"))
    zs = np.unique(np.nonzero(seg_rpi.data)[2])
    if not len(zs):
        raise LabelError("The segmentation is empty")
    centres = np.array([list(_slice_centre(seg_rpi, z)) + [z] for z in zs])
    world_ctl = seg_rpi.transfo_pix2phys(centres)
    out = _label_image(labels, dtype=labels.data.dtype)
    for x, y, z, v in label_points(labels):
        world = labels.transfo_pix2phys([[x, y, z]])[0]
        nearest = centres[np.argmin(np.sum((world_ctl - world) ** 2, axis=1))]
        target = labels.transfo_phys2pix(seg_rpi.transfo_pix2phys([nearest]), real=False)[0]
        out.data[tuple(target)] = v
    return out


def label_distance_errors(img: Image, ref: Image) -> dict:
    """Distances (mm) between labels of the same value in two images.

    Returns ``{"rms": root mean squared distance, "max": largest distance, "per_label": {v: d},
    "missing": values present in only one image}``.
    """
    a = {p[3]: img.transfo_pix2phys([p[:3]])[0] for p in label_points(img)}
    b = {p[3]: ref.transfo_pix2phys([p[:3]])[0] for p in label_points(ref)}
    common = sorted(set(a) & set(b))
    if not common:
        raise LabelError("The two label images have no label value in common")
    dist = {v: float(np.linalg.norm(a[v] - b[v])) for v in common}
    d = np.array(list(dist.values()))
    return {"rms": float(np.sqrt(np.mean(d ** 2))), "max": float(d.max()), "per_label": dist,
            "missing": sorted(set(a) ^ set(b))}
