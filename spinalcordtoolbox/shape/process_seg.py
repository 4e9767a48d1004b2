"""Per-slice morphometry of a spinal cord segmentation (cross-sectional area and shape).

Each axial slice of the segmentation (reoriented to RPI) gives one set of metrics:

- ``area`` (mm²): sum of the voxel values (partial volumes for soft segmentations) times
  the in-plane voxel area, corrected for the tilt of the cord: the slice is scaled by
  cos(angle_AP) along x and cos(angle_RL) along y, as the established toolbox does, so
  the area is the one of the section orthogonal to the centerline.
- ``angle_AP`` / ``angle_RL`` (degrees): angle between the centerline and the slice normal
  about the antero-posterior axis (tilt in the coronal plane, from dx/dz) and about the
  right-left axis (tilt in the sagittal plane, from dy/dz).
- ``diameter_RL``, ``diameter_AP_ellipse``, ``eccentricity``, ``orientation``, ``solidity``:
  from the ellipse with the same second moments (scikit-image region properties) of the slice
  resampled in the plane orthogonal to the centerline at ~0.1 mm. Each slice is cropped
  around the cord *before* upsampling, so memory does not grow with the field of view.
  ``orientation`` is signed (scikit-image's convention on the RPI slice): the angle in
  degrees, in (-90, 90], from the x (right-left) axis to the ellipse's major axis, positive
  towards anterior (+y).
- ``diameter_AP`` (mm): not the ellipse axis (which overestimates flattened, U-shaped cords)
  but the cord's own extent along its antero-posterior mid-line: in the frame of the section
  rotated so that its right-left axis is horizontal, the mean AP thickness of the (soft)
  section over a 3 mm band centred on its centre of mass, as the established toolbox's
  current version. ``length_anterior`` / ``length_posterior``: the parts of that thickness in
  front of / behind the centre of mass (they sum to ``diameter_AP``).
- ``length`` (mm): length of the centerline inside the slice.

On request (``compute_shape(..., return_ellipses=True)``) the fitted ellipse of each slice is
also returned in world coordinates (:class:`SliceEllipse`), e.g. to draw it in the QC report.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid, crop_image

logger = logging.getLogger(__name__)

METRICS = ("area", "angle_AP", "angle_RL", "diameter_AP", "diameter_RL", "eccentricity",
           "orientation", "solidity", "diameter_AP_ellipse", "length_anterior", "length_posterior",
           "length")
#: per-slice left/right symmetry (``compute_shape(..., symmetry=True)``)
SYMMETRY_METRICS = ("symmetry_dice", "symmetry_hausdorff")
#: width (mm) of the right-left band, centred on the section's centre of mass, over which the
#: antero-posterior thickness is averaged (diameter_AP, length_anterior, length_posterior)
AP_BAND_MM = 3.0
#: in-plane pixel size (mm) of the upsampled slice used for the shape properties
SHAPE_RESOLUTION_MM = 0.1
#: margin (voxels) kept around the cord when cropping a slice
_CROP_MARGIN = 2


@dataclass
class SliceEllipse:
    """The ellipse fitted to one axial section, in world coordinates (mm, RAS+ as nibabel).

    ``semi_ap`` / ``semi_rl`` are the semi-axis vectors whose lengths are diameter_AP / 2 and
    diameter_RL / 2 in the plane orthogonal to the centerline; here they are projected back
    onto the axial slice (stretched by 1/cos of the tilt), so the ellipse drawn on the slice
    follows the cord's section as seen in that slice.
    """
    centre: np.ndarray    # (3,)
    semi_ap: np.ndarray   # (3,)
    semi_rl: np.ndarray   # (3,)
    diameter_ap: float    # mm, orthogonal plane (as the metrics)
    diameter_rl: float


def prepare_segmentation(im_seg: Image, name="segmentation") -> Image:
    """Copy of a 3-D segmentation in RPI, cropped in-plane around the cord, float in [0, 1].

    Soft segmentations (values in [0, 1]) are kept as partial volumes. A label image
    (values above 1, e.g. a labeled segmentation) is binarised with a warning.
    """
    im = im_seg.copy().require_3d(name).change_orientation("RPI")
    # crop in-plane to the cord first: everything after scales with the cord, not the FOV
    raw = np.asarray(im.data)
    nonzero = (raw != 0) & ~np.isnan(raw) if raw.dtype.kind == "f" else raw != 0
    if not nonzero.any():
        raise ImageError(f"The {name} is empty (all zeros)")
    xs = np.flatnonzero(nonzero.any(axis=(1, 2)))
    ys = np.flatnonzero(nonzero.any(axis=(0, 2)))
    del nonzero
    im = crop_image(im, xs[0] - 1, xs[-1] + 1, ys[0] - 1, ys[-1] + 1)
    data = np.nan_to_num(np.asarray(im.data, dtype=np.float64))
    if data.min() < 0:
        raise ImageError(f"The {name} has negative values: expected a binary or soft segmentation")
    # a soft mask stored as uint8 with scl_slope = float32(1/255) reads back as 1.00000006 at most:
    # rounding, not a label value
    if data.max() > 1 + 1e-4:
        logger.warning("The %s has values above 1 (max %g): it is binarised (> 0)", name, data.max())
        data = (data > 0).astype(np.float64)
    else:
        np.minimum(data, 1.0, out=data)
    if not data.any():
        raise ImageError(f"The {name} is empty (all zeros)")
    im.data = data
    return im


def _slice_properties(patch: np.ndarray, px: float, py: float, scale_x: float, scale_y: float,
                      symmetry=False):
    """Shape properties of one axial slice, resampled orthogonally to the centerline.

    ``scale_x``/``scale_y`` are the cosines of the cord's tilt: a tilted cord's axial section
    is stretched by 1/cos along the tilt, so shrinking it back approximates the orthogonal
    section. Returns a dict or None when nothing survives the 0.5 threshold.
    """
    patch = _keep_largest_component(patch)
    xs, ys = np.nonzero(patch)
    x0, x1 = max(xs.min() - _CROP_MARGIN, 0), min(xs.max() + _CROP_MARGIN + 1, patch.shape[0])
    y0, y1 = max(ys.min() - _CROP_MARGIN, 0), min(ys.max() + _CROP_MARGIN + 1, patch.shape[1])
    crop = np.pad(patch[x0:x1, y0:y1], 1)  # zero border so linear interpolation closes the shape
    d = min(SHAPE_RESOLUTION_MM, px, py)
    # output pixel (i, j) sits at (i*d, j*d) mm in the orthogonal plane -> input voxel index;
    # the map is a per-axis scaling, so bilinear interpolation is two small matrix products
    wx = _linear_weights(crop.shape[0], d / (px * scale_x))
    wy = _linear_weights(crop.shape[1], d / (py * scale_y))
    up = wx @ crop @ wy.T
    mask = up >= 0.5
    if not mask.any():
        return None
    props = _ellipse_properties(mask, d)
    props["diameter_AP_ellipse"] = props["diameter_AP"]
    props.update(_midline_ap(np.clip(up, 0, 1), mask, d, props["rl_angle"]))
    if symmetry:
        props.update(_symmetry(mask, d, props["rl_angle"]))
    # upsampled pixel (i, j) samples crop index (i * sx, j * sy); the crop starts one voxel
    # (zero border) before patch index (x0, y0)
    sx, sy = d / (px * scale_x), d / (py * scale_y)
    (cx, cy), ap, rl = props["ellipse"]
    props["ellipse"] = (np.array([cx * sx + x0 - 1, cy * sy + y0 - 1]),
                        np.array([ap[0] * sx, ap[1] * sy]), np.array([rl[0] * sx, rl[1] * sy]))
    props.pop("rl_angle")
    return props


def _section_frame(mask: np.ndarray, d: float, rl_angle: float):
    """Pixel-centre coordinates (mm) of a section in its own frame: u along its right-left axis,
    v along its antero-posterior axis (towards anterior), origin at the centre of mass."""
    xs, ys = np.nonzero(mask)
    cx, cy = xs.mean(), ys.mean()
    gx, gy = np.meshgrid((np.arange(mask.shape[0]) - cx) * d, (np.arange(mask.shape[1]) - cy) * d,
                         indexing="ij")
    c, s = math.cos(rl_angle), math.sin(rl_angle)
    return gx * c + gy * s, -gx * s + gy * c


def _midline_ap(soft: np.ndarray, mask: np.ndarray, d: float, rl_angle: float) -> dict:
    """diameter_AP, length_anterior, length_posterior along the section's AP mid-line.

    The mean AP thickness over the band |u| <= AP_BAND_MM / 2 is the (soft) area inside the
    band divided by the band's width; the parts with v >= 0 / v < 0 give the anterior and
    posterior lengths.
    """
    u, v = _section_frame(mask, d, rl_angle)
    band = np.abs(u) <= AP_BAND_MM / 2
    width = AP_BAND_MM
    # a section narrower than the band: its own right-left extent is the width
    extent = u[mask].max() - u[mask].min() + d
    if extent < AP_BAND_MM:
        width = extent
    anterior = float(soft[band & (v >= 0)].sum() * d * d / width)
    posterior = float(soft[band & (v < 0)].sum() * d * d / width)
    return {"diameter_AP": anterior + posterior, "length_anterior": anterior,
            "length_posterior": posterior}


def _symmetry(mask: np.ndarray, d: float, rl_angle: float) -> dict:
    """Left/right symmetry of a section about its own AP axis through the centre of mass.

    The right half (u < 0) is mirrored onto the left half (u > 0): Dice of the two halves and
    the symmetric Hausdorff distance (mm) between their outlines.
    """
    from scipy import ndimage
    from scipy.spatial.distance import directed_hausdorff

    u, v = _section_frame(mask, d, rl_angle)
    xs, ys = np.nonzero(mask)
    cx, cy = xs.mean(), ys.mean()
    c, s = math.cos(rl_angle), math.sin(rl_angle)
    # mirror about the AP axis: (u, v) -> (-u, v), as pixel coordinates of the same grid
    mu, mv = -u, v
    src_x = cx + (mu * c - mv * s) / d
    src_y = cy + (mu * s + mv * c) / d
    mirrored = ndimage.map_coordinates(mask.astype(np.float64), [src_x, src_y], order=1, cval=0.0) >= 0.5
    left = mask & (u > 0)
    twin = mirrored & (u > 0)
    total = left.sum() + twin.sum()
    dice = float(2 * np.count_nonzero(left & twin) / total) if total else float("nan")

    def outline(m):
        return np.argwhere(m & ~ndimage.binary_erosion(m)) * d

    a, b = outline(left), outline(twin)
    if len(a) == 0 or len(b) == 0:
        return {"symmetry_dice": dice, "symmetry_hausdorff": float("nan")}
    hd = max(directed_hausdorff(a, b)[0], directed_hausdorff(b, a)[0])
    return {"symmetry_dice": dice, "symmetry_hausdorff": float(hd)}


def _linear_weights(n_in: int, step: float) -> np.ndarray:
    """(n_out, n_in) matrix of linear-interpolation weights sampling 0, step, 2*step... < n_in - 1."""
    n_out = int(math.floor((n_in - 1) / step)) + 1
    pos = np.arange(n_out) * step
    i0 = np.minimum(np.floor(pos).astype(int), n_in - 2)
    frac = pos - i0
    w = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    w[rows, i0] = 1 - frac
    w[rows, i0 + 1] = frac
    return w


def _keep_largest_component(patch: np.ndarray) -> np.ndarray:
    """Zero every 8-connected component of the non-zero voxels but the heaviest one.

    Done at the original resolution, before upsampling, so stray voxels of a segmentation do
    not distort the fitted ellipse. Components are found from the runs of non-zero voxels of
    each row (runs of adjacent rows that overlap, diagonals included, are connected).
    """
    m = patch != 0
    d = np.diff(np.pad(m, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    starts = np.argwhere(d == 1)       # (row, first column), row-major order
    ends = np.argwhere(d == -1)[:, 1]  # one past the last column of each run
    rows = starts[:, 0]
    # fast path: one run per row, consecutive rows, each overlapping the next
    if (len(rows) == len(np.unique(rows)) and np.all(np.diff(rows) == 1)
            and np.all((starts[1:, 1] <= ends[:-1]) & (starts[:-1, 1] <= ends[1:]))):
        return patch
    parent = list(range(len(rows)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_row = {}
    for k, r in enumerate(rows.tolist()):
        by_row.setdefault(r, []).append(k)
    for r, ks in by_row.items():
        for k in ks:
            for j in by_row.get(r + 1, ()):
                if starts[j, 1] <= ends[k] and starts[k, 1] <= ends[j]:
                    parent[find(j)] = find(k)
    roots = np.array([find(k) for k in range(len(rows))])
    if len(np.unique(roots)) == 1:
        return patch
    weight = {}
    for k, root in enumerate(roots.tolist()):
        weight[root] = weight.get(root, 0.0) + float(patch[rows[k], starts[k, 1]:ends[k]].sum())
    best = max(weight, key=weight.get)
    out = np.zeros_like(patch)
    for k in np.flatnonzero(roots == best):
        out[rows[k], starts[k, 1]:ends[k]] = patch[rows[k], starts[k, 1]:ends[k]]
    return out


def _monotone_chain(points) -> list:
    """One half of the convex hull (monotone chain) of points sorted by x then y."""
    chain = []
    for p in points:
        while len(chain) >= 2 and ((chain[-1][0] - chain[-2][0]) * (p[1] - chain[-2][1])
                                   - (chain[-1][1] - chain[-2][1]) * (p[0] - chain[-2][0])) <= 0:
            chain.pop()
        chain.append(p)
    return chain


def _ellipse_properties(mask: np.ndarray, d: float) -> dict:
    """Diameters, eccentricity, orientation and solidity of a 2-D mask with pixel size ``d`` mm.

    Diameters are the axes of the ellipse with the same second moments (4 * sqrt of the
    eigenvalues of the pixel-centre covariance, as scikit-image's ``axis_major_length``);
    solidity is pixel count / pixel count of their convex hull (as scikit-image).
    Also returns ``ellipse``: (centre, AP semi-axis vector, RL semi-axis vector) in pixels.
    """
    xs, ys = np.nonzero(mask)
    n = xs.size
    cx, cy = xs.mean(), ys.mean()
    dx, dy = xs - cx, ys - cy
    cov = np.array([[dx @ dx, dx @ dy], [dx @ dy, dy @ dy]]) / n
    evals, evecs = np.linalg.eigh(cov)          # ascending
    l_minor, l_major = max(evals[0], 0.0), max(evals[1], 0.0)
    major, minor = 4 * math.sqrt(l_major) * d, 4 * math.sqrt(l_minor) * d
    eccentricity = math.sqrt(1 - l_minor / l_major) if l_major > 0 else 0.0
    # signed angle (-90, 90] from axis 0 (x: right-left in RPI) to the major axis, positive
    # towards axis 1 (anterior): scikit-image's regionprops orientation on the same array
    major_dir = evecs[:, 1]
    theta = math.atan2(major_dir[1], major_dir[0])
    if theta > math.pi / 2:
        theta -= math.pi
    elif theta <= -math.pi / 2:
        theta += math.pi
    orientation = math.degrees(theta)
    semi_major = 2 * math.sqrt(l_major) * evecs[:, 1]
    semi_minor = 2 * math.sqrt(l_minor) * evecs[:, 0]
    # angle of the section's right-left axis: the major axis, or the minor one when the
    # section is taller (AP) than wide
    rl_angle = theta if abs(orientation) < 45 else theta - math.copysign(math.pi / 2, theta)
    if abs(orientation) < 45:  # major axis closer to right-left
        diameter_rl, diameter_ap = major, minor
        semi_rl, semi_ap = semi_major, semi_minor
    else:
        diameter_rl, diameter_ap = minor, major
        semi_rl, semi_ap = semi_minor, semi_major
    return {"diameter_AP": diameter_ap, "diameter_RL": diameter_rl,
            "eccentricity": eccentricity, "orientation": orientation,
            "solidity": _solidity(mask, n), "ellipse": ((cx, cy), semi_ap, semi_rl),
            "rl_angle": rl_angle}


def _solidity(mask: np.ndarray, n: int) -> float:
    """Pixel count / count of pixel centres inside the convex hull of the pixels, each pixel
    represented by the midpoints of its 4 sides (scikit-image's convention)."""
    rows = np.flatnonzero(mask.any(axis=1))
    first = mask[rows].argmax(axis=1)
    last = mask.shape[1] - 1 - mask[rows, ::-1].argmax(axis=1)
    # only the extreme pixels of each row can be hull vertices: the lower chain (small y)
    # comes from the first pixel of each row, the upper chain from the last one
    r = rows.astype(float)
    low = np.concatenate([np.column_stack([r - 0.5, first]), np.column_stack([r + 0.5, first]),
                          np.column_stack([r, first - 0.5])])
    high = np.concatenate([np.column_stack([r - 0.5, last]), np.column_stack([r + 0.5, last]),
                           np.column_stack([r, last + 0.5])])
    lower = _monotone_chain(sorted(map(tuple, low.tolist())))
    upper = _monotone_chain(sorted(map(tuple, high.tolist()), reverse=True))
    hull = np.array(lower + upper)
    # drop repeated vertices (where the chains meet) so every edge has a length
    keep = np.any(np.abs(hull - np.roll(hull, -1, axis=0)) > 1e-12, axis=1)
    hull = hull[keep]
    if len(hull) < 3:
        return 1.0
    # half-planes of the counter-clockwise hull: cross(edge, p - start) >= 0 inside
    start, end = hull, np.roll(hull, -1, axis=0)
    ex, ey = end[:, 0] - start[:, 0], end[:, 1] - start[:, 1]
    # for a row x: ex*(y - sy) - ey*(x - sx) >= 0  <=>  ex*y >= ex*sy + ey*(x - sx)
    xr = np.arange(rows.min(), rows.max() + 1, dtype=float)[:, None]
    rhs = ex * start[:, 1] + ey * (xr - start[:, 0])
    tol = 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = rhs / ex
    ymin = np.where(ex > tol, bound, -np.inf).max(axis=1)
    ymax = np.where(ex < -tol, bound, np.inf).min(axis=1)
    ok = np.all((np.abs(ex) > tol) | (-rhs >= -tol), axis=1)
    counts = np.floor(ymax + tol) - np.ceil(ymin - tol) + 1
    hull_count = int(np.sum(np.where(ok, np.maximum(counts, 0), 0)))
    return n / max(hull_count, n)


def compute_shape(im_seg: Image, angle_correction=True, im_centerline: Image | None = None,
                  centerline_algo="bspline", centerline_smooth=30, progress=True,
                  return_ellipses=False, symmetry=False):
    """Per-slice metrics of a segmentation (any orientation; binary or soft).

    Returns ``(metrics, fit_results)``: ``metrics`` maps each name of :data:`METRICS` to an
    array of length nz (RPI slices, inferior to superior), NaN on slices without cord.
    With ``return_ellipses``, returns ``(metrics, fit_results, ellipses)`` where ``ellipses``
    maps each RPI slice with a fitted section to its :class:`SliceEllipse`.
    The centerline giving the tilt is fitted on the segmentation itself, or on
    ``im_centerline`` (``-angle-corr-centerline``, same grid) when given. ``symmetry``: add
    the per-slice left/right symmetry metrics (:data:`SYMMETRY_METRICS`).
    """
    from spinalcordtoolbox.centerline.core import get_centerline

    im = prepare_segmentation(im_seg)
    data = im.data
    nz = data.shape[2]
    px, py, pz = im.pixdim
    metrics = {m: np.full(nz, np.nan) for m in METRICS + (SYMMETRY_METRICS if symmetry else ())}
    slices = np.flatnonzero(data.any(axis=(0, 1)))

    tan_x = np.zeros(nz)
    tan_y = np.zeros(nz)
    fit_results = None
    if angle_correction:
        if im_centerline is not None:
            check_same_grid(im_centerline.copy().require_3d("centerline"), im_seg,
                            names=("angle-correction centerline", "segmentation"))
            source = im_centerline
        else:
            source = im
        _, arr_ctl, arr_der, fit_results = get_centerline(source, algo=centerline_algo,
                                                          smooth=centerline_smooth, minmax=True)
        zc = arr_ctl[2].astype(int)
        # slices beyond the centerline's extent take the tilt of its nearest end
        idx = np.clip(np.searchsorted(zc, np.arange(nz)), 0, len(zc) - 1)
        tan_x = arr_der[0][idx] * px / pz   # dx/dz in mm/mm
        tan_y = arr_der[1][idx] * py / pz

    angle_ap = np.arctan(tan_x)   # about the AP axis: tilt in the coronal (x-z) plane
    angle_rl = np.arctan(tan_y)   # about the RL axis: tilt in the sagittal (y-z) plane
    cos_x, cos_y = np.cos(angle_ap), np.cos(angle_rl)

    ellipses = {}
    linear = im.affine[:3, :3]
    iterator = slices
    if progress and len(slices) > 200:
        from spinalcordtoolbox.utils.cli import progress_bar
        iterator = progress_bar(slices, desc="Shape analysis", unit="slice")
    for z in iterator:
        patch = data[:, :, z]
        metrics["area"][z] = patch.sum() * px * py * cos_x[z] * cos_y[z]
        metrics["angle_AP"][z] = math.degrees(angle_ap[z])
        metrics["angle_RL"][z] = math.degrees(angle_rl[z])
        metrics["length"][z] = pz * math.sqrt(1 + tan_x[z] ** 2 + tan_y[z] ** 2)
        props = _slice_properties(patch, px, py, cos_x[z], cos_y[z], symmetry=symmetry)
        if props:
            centre, semi_ap, semi_rl = props.pop("ellipse")
            for k, v in props.items():
                metrics[k][z] = v
            if return_ellipses:
                ellipses[int(z)] = SliceEllipse(
                    centre=im.transfo_pix2phys([[centre[0], centre[1], z]])[0],
                    semi_ap=linear @ np.array([semi_ap[0], semi_ap[1], 0.0]),
                    semi_rl=linear @ np.array([semi_rl[0], semi_rl[1], 0.0]),
                    diameter_ap=props["diameter_AP"], diameter_rl=props["diameter_RL"])
    if return_ellipses:
        return metrics, fit_results, ellipses
    return metrics, fit_results
