"""What a QC entry shows: image planes sampled on a common grid, centred on the cord.

Every view is sampled from images reoriented to RPI (toolbox naming), so that a mosaic looks
the same whatever the acquisition orientation:

- axial tiles are shown in radiological convention (patient right on the left, anterior up),
  one tile per slice containing the segmentation, centred on the cord in that slice;
- sagittal slices show anterior on the left and superior up.

Sampling positions are defined on the reference image's grid and mapped through world
coordinates into every other image, so a segmentation or a second image on another grid is
resampled on the fly (no full-volume resampling). Images are resampled to a common in-plane
resolution (:data:`QC_RESOLUTION_MM`) so that all subjects of a report have the same scale.

Callers may add shapes (:class:`Shape`: ellipses, line segments, in world coordinates) to an
axial mosaic: each is drawn on the tile of the slice that holds it (e.g. the ellipse fitted to
the cord section by sct_process_segmentation, with its two diameters).

Only numpy is used here (scipy only for cubic sampling); drawing lives in :mod:`spinalcordtoolbox.reports.render`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

logger = logging.getLogger(__name__)

#: Common in-plane resolution of the QC mosaics (mm per pixel before display upscaling).
QC_RESOLUTION_MM = 0.5
#: Side of an axial tile around the cord, in mm (cord + CSF + some surrounding tissue).
AXIAL_FOV_MM = 40.0
#: Maximum width of an axial mosaic, in pixels (the number of columns follows from it).
MAX_MOSAIC_WIDTH_PX = 960
#: Without a segmentation, axial tiles show the whole field of view, capped in size and number.
MAX_TILE_PX = 240
MAX_TILES_WITHOUT_SEG = 36
#: Sagittal views are upscaled by an integer factor until their long side reaches this.
MIN_SAGITTAL_SIDE_PX = 600
#: Intensity window: percentiles of the displayed voxels (robust to spikes and padding).
WINDOW_PERCENTILES = (1.0, 99.5)


#: Points per ellipse outline (smooth at the size of an axial tile).
ELLIPSE_POINTS = 96
#: Height of one line of shape labels in a tile (pixels).
LABEL_LINE_PX = 10


@dataclass
class Shape:
    """A polyline to draw on an axial mosaic, in world coordinates (mm, RAS+ as nibabel).

    ``label`` (optional) is written in the corner of the tile, in the shape's colour."""
    points: np.ndarray          # (N, 3)
    colour: str = "#ffd400"
    closed: bool = False
    label: str = ""


def ellipse_shape(centre, semi_axis_1, semi_axis_2, colour="#ffd400", label="") -> Shape:
    """Closed outline centre + cos(t) * semi_axis_1 + sin(t) * semi_axis_2 (3-D vectors, mm).

    The two vectors need not be orthogonal (conjugate semi-diameters describe the same
    ellipse), so an ellipse stretched by an affine map stays exact."""
    t = np.linspace(0, 2 * np.pi, ELLIPSE_POINTS, endpoint=False)[:, None]
    points = np.asarray(centre, float) + np.cos(t) * np.asarray(semi_axis_1, float) \
        + np.sin(t) * np.asarray(semi_axis_2, float)
    return Shape(points, colour, closed=True, label=label)


def segment_shape(start, end, colour="#00e5ff", label="") -> Shape:
    """Straight line segment between two world points (mm)."""
    return Shape(np.array([start, end], dtype=float), colour, closed=False, label=label)


@dataclass
class View:
    """Arrays ready to draw, all of shape (height, width) in display orientation."""
    plane: str
    background: np.ndarray                     # windowed to [0, 1]
    mask: np.ndarray | None = None             # segmentation values (0 outside), same shape
    second: np.ndarray | None = None           # second image (before/after), windowed to [0, 1]
    points: list = field(default_factory=list)  # point labels: (row, col, value) in pixels
    tiles: list = field(default_factory=list)   # axial: (row0, col0, slice index) of each tile
    tile_size: int = 0
    # shapes in display pixels: (points (N, 2) as (row, col), colour, closed)
    lines: list = field(default_factory=list)
    texts: list = field(default_factory=list)   # (row, col, text, colour): top-left anchored


def prepare(img, name="image") -> Image:
    """An RPI copy of ``img`` (path or Image); 4-D images are averaged over time.

    Data keep their stored type (int16 stays int16: half the memory of float32 on large
    volumes); only booleans become uint8, which the interpolation needs."""
    # an Image given by the caller is not copied: reorientation makes a new array when needed,
    # and nothing here writes into the data (large volumes are not duplicated for a picture)
    im = Image(img) if not isinstance(img, Image) else Image(img.data, hdr=img.hdr, affine=img.affine,
                                                                 absolutepath=img.absolutepath)
    if im.data.ndim > 3 and not im.is_3d():
        if im.data.ndim == 4:
            logger.info("QC: the %s is 4-D, showing its mean over time", name)
            im = Image(im.data.mean(axis=3, dtype=np.float32), hdr=im.hdr, affine=im.affine,
                       absolutepath=im.absolutepath)
        else:
            raise ImageError(f"The {name} for QC must be 3-D or 4-D, got shape {im.data.shape}")
    im.require_3d(name)
    im.change_orientation("RPI")
    if im.data.dtype == bool:
        im.data = im.data.astype(np.uint8)
    return im


def is_point_labels(seg: Image) -> bool:
    """True for point labels (a few isolated voxels whose values are label ids)."""
    nz = np.count_nonzero(seg.data)
    if nz == 0 or nz > 200:
        return False
    values = seg.data[seg.data != 0]
    # point labels: one voxel per label value (3 = C2-C3, 4 = C3-C4 ...), or a handful of voxels
    return len(np.unique(values)) == nz or nz <= 5


def _to_voxels(src: Image, dst: Image, vox_src: np.ndarray) -> np.ndarray:
    """Map (N, 3) voxel coordinates of ``src`` to voxel coordinates of ``dst`` (via world)."""
    if dst is src or (dst.data.shape == src.data.shape and np.allclose(dst.affine, src.affine, atol=1e-4)):
        return vox_src
    return dst.transfo_phys2pix(src.transfo_pix2phys(vox_src))


def _sample(ref: Image, other: Image, vox_ref: np.ndarray, order: int) -> np.ndarray:
    from spinalcordtoolbox.resampling import sample_at

    vox = _to_voxels(ref, other, vox_ref.reshape(-1, 3))
    return sample_at(other.data, vox.T, order, cval=np.nan).astype(np.float32).reshape(vox_ref.shape[:-1])


def window(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] between robust percentiles; NaN (outside the field of view) -> 0."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(values.shape, dtype=np.float32)
    lo, hi = np.percentile(finite, WINDOW_PERCENTILES)
    if hi <= lo:
        hi = lo + 1.0
    out = np.clip((values - lo) / (hi - lo), 0, 1)
    return np.nan_to_num(out, nan=0.0).astype(np.float32)


def _seg_voxels_in_ref(ref: Image, seg: Image) -> np.ndarray:
    """(N, 3) continuous voxel coordinates in ``ref`` of the non-zero voxels of ``seg``."""
    idx = np.argwhere(seg.data != 0).astype(float)
    if idx.size == 0:
        raise ImageError("The segmentation for QC is empty (no non-zero voxel)")
    return _to_voxels(seg, ref, idx)


def cord_centres(ref: Image, seg: Image) -> tuple[np.ndarray, np.ndarray]:
    """Slices of ``ref`` crossed by ``seg`` and the cord centre (x, y voxels) in each.

    Slices between the first and last one without segmentation get a linearly interpolated
    centre, so that the mosaic has no gap.
    """
    vox = _seg_voxels_in_ref(ref, seg)
    z = np.rint(vox[:, 2]).astype(int)
    inside = (z >= 0) & (z < ref.data.shape[2])
    if not inside.any():
        raise ImageError("The segmentation for QC does not overlap the image")
    vox, z = vox[inside], z[inside]
    slices = np.arange(z.min(), z.max() + 1)
    present = np.unique(z)
    cx = np.array([vox[z == s, 0].mean() for s in present])
    cy = np.array([vox[z == s, 1].mean() for s in present])
    centres = np.column_stack([np.interp(slices, present, cx), np.interp(slices, present, cy)])
    return slices, centres


def axial_view(image: Image, seg: Image | None = None, image2: Image | None = None,
               fov_mm: float = AXIAL_FOV_MM, resolution: float = QC_RESOLUTION_MM,
               shapes: list | None = None, centre_seg: Image | None = None) -> View:
    """Mosaic of axial tiles centred on the cord (or the whole field of view without ``seg``).

    ``centre_seg`` (RPI, from :func:`prepare`) centres the tiles instead of ``seg``.

    Inputs are RPI images from :func:`prepare`. Tiles go from the most superior slice
    (top-left) to the most inferior one. ``shapes`` (:class:`Shape`) are projected on the
    tile of their slice (see :func:`_place_shapes`).
    """
    nx, ny, nz = image.data.shape
    px, py, _ = image.pixdim
    if centre_seg is not None or seg is not None:
        slices, centres = cord_centres(image, centre_seg if centre_seg is not None else seg)
    else:
        # no cord to centre on: whole field of view, at most MAX_TILE_PX wide, and at most
        # MAX_TILES_WITHOUT_SEG slices evenly spread (a 3-D acquisition has hundreds)
        slices = np.unique(np.linspace(0, nz - 1, min(nz, MAX_TILES_WITHOUT_SEG)).round().astype(int))
        centres = np.tile([(nx - 1) / 2, (ny - 1) / 2], (len(slices), 1))
        fov_mm = max(nx * px, ny * py)
        resolution = max(resolution, fov_mm / MAX_TILE_PX)
    slices, centres = slices[::-1], centres[::-1]
    tile = int(round(fov_mm / resolution))
    offsets = (np.arange(tile) - (tile - 1) / 2) * resolution   # mm from the tile centre
    # display: column -> x increasing (patient right on the left), row -> y decreasing (anterior up)
    dx = offsets[None, :] / px
    dy = -offsets[:, None] / py
    n = len(slices)
    ncol = max(1, min(n, MAX_MOSAIC_WIDTH_PX // tile))
    nrow = math.ceil(n / ncol)
    grid = np.full((nrow * tile, ncol * tile, 3), np.nan)
    tiles = []
    for k, (s, (cx, cy)) in enumerate(zip(slices, centres)):
        r0, c0 = (k // ncol) * tile, (k % ncol) * tile
        block = grid[r0:r0 + tile, c0:c0 + tile]
        block[..., 0] = cx + dx
        block[..., 1] = cy + dy
        block[..., 2] = s
        tiles.append((r0, c0, int(s)))
    view = View("axial", background=window(_sample(image, image, grid, order=1)), tiles=tiles, tile_size=tile)
    if shapes:
        _place_shapes(view, image, shapes, centres, resolution)
    if seg is not None:
        view.mask = _mask_values(image, seg, grid)
    if image2 is not None:
        view.second = window(_sample(image, image2, grid, order=1))
    return view


def _place_shapes(view: View, image: Image, shapes: list, centres: np.ndarray, resolution: float):
    """Project world-space shapes onto the tiles of an axial mosaic (in place).

    A shape belongs to the slice of its mean position; its points are projected along the
    slice normal (a tilted cord's shape is drawn flat on its slice). Shapes on slices without
    a tile, or reaching outside their tile, are skipped with a debug message. Labels of a
    tile's shapes are stacked in its top-left corner.
    """
    px, py, _ = image.pixdim
    tile = view.tile_size
    where = {s: (k, r0, c0) for k, (r0, c0, s) in enumerate(view.tiles)}
    n_labels = {}
    for shape in shapes:
        vox = image.transfo_phys2pix(np.asarray(shape.points, float))
        s = int(np.rint(vox[:, 2].mean()))
        if s not in where:
            logger.debug("QC: shape on slice %d, which has no tile: skipped", s)
            continue
        k, r0, c0 = where[s]
        cx, cy = centres[k]
        # inverse of axial_view's sampling grid: column <- x, row <- -y, about the tile centre
        cols = (vox[:, 0] - cx) * px / resolution + (tile - 1) / 2
        rows = -(vox[:, 1] - cy) * py / resolution + (tile - 1) / 2
        if rows.min() < -0.5 or cols.min() < -0.5 or max(rows.max(), cols.max()) > tile - 0.5:
            logger.debug("QC: shape reaches outside the tile of slice %d: skipped", s)
            continue
        view.lines.append((np.column_stack([rows + r0, cols + c0]), shape.colour, shape.closed))
        if shape.label:
            i = n_labels.get(s, 0)
            n_labels[s] = i + 1
            view.texts.append((r0 + 1 + i * LABEL_LINE_PX, c0 + 2, shape.label, shape.colour))


def _mask_values(ref: Image, seg: Image, grid: np.ndarray) -> np.ndarray:
    """Segmentation sampled on ``grid``: linear for binary/soft masks (smooth edges),
    nearest for multi-valued label maps (values must not be blended)."""
    values = np.unique(seg.data[seg.data != 0])  # non-zero voxels only: small even for big volumes
    multi_label = len(values) > 1 and np.allclose(values, np.round(values)) and values.max() > 1
    return np.nan_to_num(_sample(ref, seg, grid, order=0 if multi_label else 1), nan=0.0).astype(np.float32)


def sagittal_view(image: Image, seg: Image | None = None, image2: Image | None = None,
                  labels: bool = False, resolution: float = QC_RESOLUTION_MM) -> View:
    """One sagittal slice through the cord (median x of ``seg``) over the whole field of view.

    With ``labels``, ``seg`` holds point labels: they are returned as points (projected on
    the slice, so labels off the mid-sagittal plane are still shown) instead of a mask.
    """
    nx, ny, nz = image.data.shape
    _, py, pz = image.pixdim
    x_slice = (nx - 1) / 2
    label_vox = None
    if seg is not None:
        label_vox = _seg_voxels_in_ref(image, seg)
        x_slice = float(np.median(label_vox[:, 0]))
    height, width = (nz - 1) * pz / resolution + 1, (ny - 1) * py / resolution + 1
    scale = max(1, min(8, math.ceil(MIN_SAGITTAL_SIDE_PX / max(height, width))))
    step = resolution / scale
    nrow, ncol = int((nz - 1) * pz / step) + 1, int((ny - 1) * py / step) + 1
    rows, cols = np.arange(nrow), np.arange(ncol)
    grid = np.empty((nrow, ncol, 3))
    grid[..., 0] = x_slice
    grid[..., 1] = (ny - 1) - cols[None, :] * step / py   # anterior on the left
    grid[..., 2] = (nz - 1) - rows[:, None] * step / pz   # superior up
    view = View("sagittal", background=window(_sample(image, image, grid, order=1)))
    if seg is not None and labels:
        values = [float(v) for v in seg.data[seg.data != 0]]
        for (x, y, z), v in zip(label_vox, values):
            view.points.append((((nz - 1) - z) * pz / step, ((ny - 1) - y) * py / step, v))
    elif seg is not None:
        view.mask = _mask_values(image, seg, grid)
    if image2 is not None:
        view.second = window(_sample(image, image2, grid, order=1))
    return view
