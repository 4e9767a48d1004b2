"""Straightening of the spinal cord along its centerline, and curve-to-curve mappings.

A fitted cord centerline is parametrised by arc length ``s`` (mm, increasing from inferior
to superior) with a smoothly varying orthonormal frame (tangent ``t``, in-plane axes ``u``
close to the world left-right axis and ``v = t x u`` close to antero-posterior). Any point
near the cord then has *curvilinear* coordinates ``(s, a, b)``: the plane orthogonal to the
centerline at arc length ``s`` that contains the point, and the point's offsets along ``u``
and ``v`` in that plane. Straightening maps ``(s, a, b)`` on the curved cord to the same
``(s, a, b)`` on a straight line, so distances along the cord are preserved (this is not a
slice-wise translation). Mapping between two curved cords (subject and template) works the
same way, with a monotonic function matching the arc lengths of corresponding disc labels.

All computations are in world coordinates (nibabel RAS mm), so they do not depend on the
voxel orientation of the images; warping fields are written as ITK displacement fields
(LPS) through :mod:`spinalcordtoolbox.registration.warp`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from spinalcordtoolbox.image import Image

logger = logging.getLogger(__name__)

#: Sampling step (mm) of the dense centerline used for nearest-point searches.
_DENSE_STEP_MM = 0.05


class StraighteningError(ValueError):
    """The cord cannot be straightened as asked (empty segmentation, bad labels...)."""


# ------------------------------------------------------------------ the curve
@dataclass
class CordCurve:
    """A centerline in world coordinates, sampled densely along its arc length."""

    s: np.ndarray        # (M,) arc length in mm, s[0] == 0 at the inferior end
    points: np.ndarray   # (M, 3) world coordinates (RAS mm)
    tangent: np.ndarray  # (M, 3) unit tangents, pointing superiorly
    u: np.ndarray        # (M, 3) unit in-plane axis closest to world +x
    v: np.ndarray        # (M, 3) t x u
    _tree: object = field(default=None, repr=False)

    @property
    def length(self) -> float:
        return float(self.s[-1])

    # ---------------------------------------------------------- creation
    @classmethod
    def from_points(cls, points_world, step=_DENSE_STEP_MM) -> "CordCurve":
        """Interpolate an ordered, already smooth centerline (N, 3) with a cubic spline."""
        from scipy.interpolate import CubicSpline

        pts = np.asarray(points_world, dtype=float)
        if len(pts) < 2:
            raise StraighteningError("The centerline needs at least 2 points (a segmentation "
                                     "covering at least 2 slices)")
        if pts[-1, 2] < pts[0, 2]:  # arc length increases towards superior
            pts = pts[::-1]
        seg_len = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        keep = np.concatenate([[True], seg_len > 1e-6])
        pts = pts[keep]
        chord = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        spline = CubicSpline(chord, pts, axis=0, bc_type="natural" if len(pts) > 2 else "not-a-knot")
        n = max(int(np.ceil(chord[-1] / step)) + 1, 2)
        t = np.linspace(0, chord[-1], n)
        dense = spline(t)
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
        tangent = spline(t, 1)
        return cls._with_frame(s, dense, tangent)

    @classmethod
    def straight(cls, start_world, length, step=_DENSE_STEP_MM) -> "CordCurve":
        """A straight vertical (world +z) centerline starting at ``start_world``."""
        n = max(int(np.ceil(length / step)) + 1, 2)
        s = np.linspace(0, length, n)
        pts = np.asarray(start_world, float)[None, :] + s[:, None] * np.array([0.0, 0.0, 1.0])
        return cls._with_frame(s, pts, np.tile([0.0, 0.0, 1.0], (n, 1)))

    @classmethod
    def _with_frame(cls, s, points, tangent) -> "CordCurve":
        tangent = tangent / np.linalg.norm(tangent, axis=1, keepdims=True)
        u, v = _frame(tangent)
        return cls(s=s, points=points, tangent=tangent, u=u, v=v)

    # ---------------------------------------------------------- evaluation
    def _table(self):
        """Points, tangents, u, v resampled on a uniform arc-length grid (fast lookups)."""
        if getattr(self, "_tab", None) is None:
            n = max(len(self.s), 2)
            su = np.linspace(self.s[0], self.s[-1], n)
            cols = np.hstack([self.points, self.tangent, self.u, self.v])
            tab = np.column_stack([np.interp(su, self.s, cols[:, k]) for k in range(12)])
            self._tab = (su[0], (su[-1] - su[0]) / (n - 1), tab)
        return self._tab

    def frame_at(self, s):
        """Points, tangents, u, v at arc lengths ``s`` (linear extrapolation past the ends)."""
        s0, ds, tab = self._table()
        x = (np.asarray(s, dtype=float) - s0) / ds
        i = np.clip(np.floor(x).astype(np.intp), 0, len(tab) - 2)
        w = (x - i)[:, None]
        lo, hi = tab[i], tab[i + 1]
        # points continue along the end segments past the ends; the frame stays the end one
        pts = lo[:, :3] + w * (hi[:, :3] - lo[:, :3])
        wc = np.clip(w, 0.0, 1.0)
        frame = lo[:, 3:] + wc * (hi[:, 3:] - lo[:, 3:])
        return pts, frame[:, :3], frame[:, 3:6], frame[:, 6:9]

    def from_curvilinear(self, s, a, b) -> np.ndarray:
        """World points of curvilinear coordinates (s, a, b)."""
        pts, _, u, v = self.frame_at(s)
        return pts + np.asarray(a)[:, None] * u + np.asarray(b)[:, None] * v

    def to_curvilinear(self, world, chunk=500_000):
        """Curvilinear coordinates (s, a, b) of world points (N, 3).

        The nearest centerline sample (every ~0.5 mm) gives a first arc length, refined by
        the offset of the point along the local tangent until the point lies in the
        orthogonal plane at ``s`` (points beyond the ends get arc lengths outside
        [0, length]).
        """
        from scipy.spatial import cKDTree

        if self._tree is None:
            stride = max(1, int(round(0.5 / max(self.s[1] - self.s[0], 1e-9))))
            sub = np.arange(0, len(self.s), stride)
            self._tree = (cKDTree(self.points[sub]), self.s[sub])
        tree, tree_s = self._tree
        world = np.asarray(world, dtype=float).reshape(-1, 3)
        out = np.empty((len(world), 3))
        for start in range(0, len(world), chunk):
            x = world[start:start + chunk]
            _, idx = tree.query(x)
            s = tree_s[idx].copy()
            for _ in range(3):
                pts, tan, _, _ = self.frame_at(s)
                s += np.einsum("ij,ij->i", x - pts, tan)
            pts, _, u, v = self.frame_at(s)
            d = x - pts
            out[start:start + chunk] = np.column_stack(
                [s, np.einsum("ij,ij->i", d, u), np.einsum("ij,ij->i", d, v)])
        return out[:, 0], out[:, 1], out[:, 2]


def _frame(tangent):
    """In-plane axes: u = world +x projected on the orthogonal plane, v = t x u."""
    ex = np.array([1.0, 0.0, 0.0])
    u = ex[None, :] - (tangent @ ex)[:, None] * tangent
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(tangent, u)
    return u, v


# ------------------------------------------------------------------ centerline
def centerline_curve(im_seg: Image, algo="bspline", smooth=30) -> CordCurve:
    """Fit the centerline of a segmentation (or centerline mask) and return its CordCurve."""
    seg = im_seg.copy().require_3d("segmentation")
    if not np.any(seg.data):
        raise StraighteningError("The segmentation is empty: nothing to straighten")
    rpi = seg.copy().change_orientation("RPI")
    from spinalcordtoolbox.centerline.core import get_centerline

    _, arr, _, _ = get_centerline(rpi, algo=algo, smooth=smooth, minmax=True)
    world = rpi.transfo_pix2phys(np.asarray(arr, dtype=float).T)
    return CordCurve.from_points(world)


# ------------------------------------------------------------------ arc-length matching
@dataclass
class ArcLengthMap:
    """Monotonic piecewise-linear map from destination arc length to source arc length."""

    s_dest: np.ndarray
    s_src: np.ndarray

    @classmethod
    def identity(cls):
        return cls(np.array([0.0, 1.0]), np.array([0.0, 1.0]))

    @classmethod
    def from_landmarks(cls, s_dest, s_src) -> "ArcLengthMap":
        """One landmark: translation; two: translation + scaling; more: piecewise linear."""
        s_dest, s_src = np.asarray(s_dest, float), np.asarray(s_src, float)
        order = np.argsort(s_dest)
        s_dest, s_src = s_dest[order], s_src[order]
        if len(s_dest) == 0:
            raise StraighteningError("No landmark to match arc lengths")
        if len(s_dest) == 1:
            return cls(np.array([s_dest[0], s_dest[0] + 1.0]), np.array([s_src[0], s_src[0] + 1.0]))
        if np.any(np.diff(s_dest) <= 0) or np.any(np.diff(s_src) <= 0):
            raise StraighteningError(
                "The labels are not in the same order along the cord in the input and in the "
                "destination (check the label values: 3 = C2-C3 disc, 4 = C3-C4...)")
        return cls(s_dest, s_src)

    def _eval(self, x, xp, fp):
        x = np.asarray(x, float)
        y = np.interp(x, xp, fp)
        lo, hi = x < xp[0], x > xp[-1]
        # outside the landmarks: continue with the slope of the nearest segment
        y[lo] = fp[0] + (x[lo] - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0])
        y[hi] = fp[-1] + (x[hi] - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
        return y

    def to_src(self, s_dest):
        return self._eval(s_dest, self.s_dest, self.s_src)

    def to_dest(self, s_src):
        return self._eval(s_src, self.s_src, self.s_dest)


@dataclass
class CurveMapping:
    """Point correspondence between a source cord (curved subject) and a destination cord.

    ``dest_to_src`` maps destination world points to source world points (what resampling
    the source onto a destination grid needs); ``src_to_dest`` is its inverse.
    """

    src: CordCurve
    dest: CordCurve
    arc: ArcLengthMap = field(default_factory=ArcLengthMap.identity)

    def dest_to_src(self, world):
        s, a, b = self.dest.to_curvilinear(world)
        return self.src.from_curvilinear(self.arc.to_src(s), a, b)

    def src_to_dest(self, world):
        s, a, b = self.src.to_curvilinear(world)
        return self.dest.from_curvilinear(self.arc.to_dest(s), a, b)


# ------------------------------------------------------------------ grids and resampling
def grid_world(img: Image) -> np.ndarray:
    """World coordinates (N, 3) of every voxel of a 3-D image, in C order."""
    nx, ny, nz = img.data.shape[:3]
    ii, jj, kk = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    vox = np.column_stack([ii.ravel(), jj.ravel(), kk.ravel()]).astype(float)
    return img.transfo_pix2phys(vox)


def sample_at_world(img: Image, world, order=1, cval=0.0) -> np.ndarray:
    """Values of a 3-D image at world points (N, 3), spline order ``order``."""
    from scipy.ndimage import map_coordinates

    vox = img.transfo_phys2pix(world)
    data = np.asarray(img.data, dtype=np.float32 if order <= 1 else np.float64)
    return map_coordinates(data, vox.T, order=order, mode="constant", cval=cval)


def resample_through(img: Image, ref: Image, mapping=None, order=1) -> Image:
    """Resample ``img`` onto ``ref``'s grid, ``mapping`` giving for each ref world point the
    world point of ``img`` to read (a function (N, 3) -> (N, 3); None: the same point)."""
    src = grid_world(ref) if mapping is None else mapping(grid_world(ref))
    values = sample_at_world(img, src, order=order).reshape(ref.data.shape[:3])
    # nearest neighbour keeps the input's type (label values); interpolation gives float32
    return _new_image(ref, values.astype(img.data.dtype if order == 0 else np.float32))


def displacement_field(ref: Image, mapping, step_mm=1.0) -> np.ndarray:
    """ITK displacement field (nx, ny, nz, 3) in LPS mm on ``ref``'s grid for a point map.

    ITK convention: the output voxel at ``p`` reads the moving image at ``p + d(p)``, so
    ``d = mapping(p) - p``, converted from RAS to LPS by negating x and y. On grids finer
    than ``step_mm`` the (smooth) map is evaluated every ``step_mm`` and the displacements
    interpolated linearly in between (8x fewer evaluations on the 0.5 mm PAM50).
    """
    from scipy.ndimage import map_coordinates

    shape = np.array(ref.data.shape[:3])
    factor = np.maximum(np.floor(step_mm / np.array(ref.pixdim)), 1).astype(int)
    if np.all(factor == 1):
        grid = grid_world(ref)
        disp = mapping(grid) - grid
        disp[:, :2] *= -1
        return disp.reshape(tuple(shape) + (3,)).astype(np.float32)
    # coarse nodes on fine voxel indices 0, f, 2f... up to (at least) the last voxel
    axes = [np.arange(0, n + f - 1, f) for n, f in zip(shape, factor)]
    ii, jj, kk = np.meshgrid(*axes, indexing="ij")
    vox = np.column_stack([ii.ravel(), jj.ravel(), kk.ravel()]).astype(float)
    world = ref.transfo_pix2phys(vox)
    coarse = (mapping(world) - world).reshape(ii.shape + (3,))
    fine = np.meshgrid(*[np.arange(n) / f for n, f in zip(shape, factor)], indexing="ij")
    out = np.empty(tuple(shape) + (3,), dtype=np.float32)
    for c, sign in enumerate((-1.0, -1.0, 1.0)):
        out[..., c] = sign * map_coordinates(coarse[..., c], fine, order=1, mode="nearest")
    return out


def resample_with_field(img: Image, ref: Image, disp: np.ndarray, order=1) -> Image:
    """Resample ``img`` onto ``ref``'s grid through an ITK (LPS) displacement field on it."""
    grid = grid_world(ref)
    src = grid + disp.reshape(-1, 3) * np.array([-1.0, -1.0, 1.0])
    values = sample_at_world(img, src, order=order).reshape(ref.data.shape[:3])
    return _new_image(ref, values.astype(np.float32))


def _new_image(ref: Image, data) -> Image:
    hdr = ref.hdr.copy()
    hdr.set_data_dtype(data.dtype)
    return Image(np.ascontiguousarray(data), hdr=hdr, affine=ref.affine)


def straight_reference(curve: CordCurve, like: Image, margin_mm=0.0) -> tuple[Image, CordCurve]:
    """The straight grid (RPI) and straight centerline for a curve, with the voxel size and
    in-plane field of view of ``like``; the straight cord runs along the grid's z axis through
    the grid centre and starts ``margin_mm`` above the first slice."""
    rpi = like.copy().require_3d().change_orientation("RPI")
    px, py, pz = rpi.pixdim
    nx, ny = rpi.data.shape[:2]
    length = curve.length + 2 * margin_mm
    nz = int(np.floor(length / pz)) + 1
    centre = curve.points.mean(axis=0)
    start = np.array([centre[0], centre[1], curve.points[0, 2] - margin_mm])
    # RPI (toolbox) = nibabel LAS: voxel x goes to world -x, y to +y, z to +z
    affine = np.diag([-px, py, pz, 1.0])
    affine[:3, 3] = start - np.array([-px * (nx - 1) / 2, py * (ny - 1) / 2, 0.0])
    hdr = rpi.hdr.copy()
    ref = Image(np.zeros((nx, ny, nz), dtype=np.float32), hdr=hdr, affine=affine)
    ref.hdr.set_data_dtype(np.float32)
    ref.hdr.set_zooms((px, py, pz))
    straight = CordCurve.straight(start + np.array([0, 0, margin_mm]), curve.length)
    return ref, straight


# ------------------------------------------------------------------ labels
def label_points(im_labels: Image):
    """{value: world point} of a point-label image (centre of mass of each value's voxels)."""
    lab = im_labels.copy().require_3d("label image")
    coords = lab.nonzero_coords()
    if len(coords) == 0:
        raise StraighteningError("The label image contains no label")
    out = {}
    for value in np.unique(coords[:, 3]):
        vox = coords[coords[:, 3] == value, :3].mean(axis=0)
        out[int(round(value))] = lab.transfo_pix2phys(vox[None, :])[0]
    return out


def check_labels_in_segmentation(im_labels: Image, im_seg: Image):
    """Raise naming every label whose slice (RPI z) is outside the segmentation's slices."""
    lab = im_labels.copy().require_3d("label image").change_orientation("RPI")
    seg = im_seg.copy().require_3d("segmentation").change_orientation("RPI")
    if lab.data.shape != seg.data.shape:
        raise StraighteningError(
            f"The labels {lab.data.shape} and the segmentation {seg.data.shape} are not on the "
            f"same grid")
    zs = np.flatnonzero(np.any(seg.data, axis=(0, 1)))
    if len(zs) == 0:
        raise StraighteningError("The segmentation is empty")
    # one position per label value (centre of its voxels: rootlet blobs count as one label)
    coords = lab.nonzero_coords()
    centres = [(int(v), int(round(coords[coords[:, 3] == v, 2].mean())))
               for v in np.unique(coords[:, 3])]
    bad = [(v, z) for v, z in centres if z < zs[0] or z > zs[-1]]
    if bad:
        listed = ", ".join(f"label {v} at z={z}" for v, z in bad)
        raise StraighteningError(
            f"Labels outside the segmentation's slices (z={zs[0]}..{zs[-1]} in RPI): {listed}. "
            f"Extend the segmentation to these slices or remove these labels.")


def label_arc_lengths(curve: CordCurve, points: dict) -> dict:
    """Arc length of the plane through each label point orthogonal to the centerline."""
    if not points:
        return {}
    values = sorted(points)
    s, _, _ = curve.to_curvilinear(np.array([points[v] for v in values]))
    return dict(zip(values, s))


# ------------------------------------------------------------------ straightening
@dataclass
class StraighteningResult:
    straight_ref: Image
    mapping: CurveMapping           # src = curved input, dest = straight
    warp_curve2straight: np.ndarray  # on straight_ref's grid
    warp_straight2curve: np.ndarray  # on the input's grid
    rms_mm: float = np.nan
    max_mm: float = np.nan


def straighten(im: Image, im_seg: Image, *, labels_input: Image | None = None,
               labels_dest: Image | None = None, dest: Image | None = None,
               algo="bspline", smooth=30) -> StraighteningResult:
    """Straighten the cord of ``im`` along the centerline of ``im_seg``.

    Without destination labels the straight cord keeps the arc length of the curved one
    (a vertical line through the centre of a grid with ``im``'s voxel size). With
    ``labels_input``/``labels_dest`` (disc labels) and ``dest`` (a straight template image),
    the straight space is ``dest`` and discs are matched piecewise along the cord.
    """
    im = im.copy().require_3d("input image")
    seg = im_seg.copy().require_3d("segmentation")
    if im.data.shape != seg.data.shape:
        raise StraighteningError(
            f"The image {im.data.shape} and the segmentation {seg.data.shape} have different "
            f"dimensions")
    to_dest = [x is not None for x in (labels_input, labels_dest, dest)]
    if any(to_dest) and not all(to_dest):
        raise StraighteningError("-ldisc-input, -ldisc-dest and -dest go together: give all "
                                 "three, or none")
    curve = centerline_curve(seg, algo=algo, smooth=smooth)
    if all(to_dest):
        check_labels_in_segmentation(labels_input, seg)
        dest = dest.copy().require_3d("destination")
        dest_seg_curve = _straight_curve_of(dest, labels_dest)
        src_s = label_arc_lengths(curve, label_points(labels_input))
        dst_s = label_arc_lengths(dest_seg_curve, label_points(labels_dest))
        common = sorted(set(src_s) & set(dst_s))
        if not common:
            raise StraighteningError(
                f"No label value in common between the input labels {sorted(src_s)} and the "
                f"destination labels {sorted(dst_s)}")
        arc = ArcLengthMap.from_landmarks([dst_s[v] for v in common], [src_s[v] for v in common])
        ref = _zeros_like_float(dest)
        mapping = CurveMapping(curve, dest_seg_curve, arc)
    else:
        ref, straight = straight_reference(curve, im)
        mapping = CurveMapping(curve, straight)
    result = StraighteningResult(
        straight_ref=ref, mapping=mapping,
        warp_curve2straight=displacement_field(ref, mapping.dest_to_src),
        warp_straight2curve=displacement_field(im, mapping.src_to_dest))
    result.rms_mm, result.max_mm = straightening_accuracy(seg, result)
    logger.info("Straightening accuracy (centerline of the straightened segmentation vs the "
                "straight line): RMS %.2f mm, max %.2f mm", result.rms_mm, result.max_mm)
    return result


def _straight_curve_of(dest: Image, labels_dest: Image) -> CordCurve:
    """The centerline of a straight destination: the vertical line through its labels."""
    pts = np.array(list(label_points(labels_dest).values()))
    centre = pts.mean(axis=0)
    corners = grid_world(_corner_image(dest))
    zmin, zmax = corners[:, 2].min(), corners[:, 2].max()
    return CordCurve.straight([centre[0], centre[1], zmin], zmax - zmin)


def _corner_image(img: Image) -> Image:
    nx, ny, nz = img.data.shape[:3]
    affine = img.affine @ np.diag([max(nx - 1, 1), max(ny - 1, 1), max(nz - 1, 1), 1.0])
    return Image(np.zeros((2, 2, 2), np.float32), affine=affine)


def _zeros_like_float(img: Image) -> Image:
    return _new_image(img, np.zeros(img.data.shape[:3], np.float32))


def straightening_accuracy(im_seg: Image, result: StraighteningResult):
    """RMS and max distance (mm) of the straightened segmentation's (or centerline's)
    per-slice centre of mass from the destination's straight centerline.

    Centres are weighted by the linearly resampled values, so a one-voxel centerline works
    as well as a segmentation; slices holding less than half the typical mass (the partial
    ends) are left out.
    """
    ref = result.straight_ref
    straight_seg = resample_through(im_seg, ref, result.mapping.dest_to_src, order=1)
    data = np.clip(straight_seg.data, 0, None)
    vox = np.argwhere(data > 0)
    if len(vox) == 0:
        return np.nan, np.nan
    weights = data[tuple(vox.T)]
    # group by slice along the straight cord (arc length on the destination curve)
    s, a, b = result.mapping.dest.to_curvilinear(ref.transfo_pix2phys(vox))
    bins = np.round(s / min(ref.pixdim)).astype(int)
    _, inv = np.unique(bins, return_inverse=True)
    mass = np.bincount(inv, weights)
    ca, cb = np.bincount(inv, weights * a) / mass, np.bincount(inv, weights * b) / mass
    keep = mass >= 0.5 * np.median(mass)
    dist = np.hypot(ca, cb)[keep]
    if len(dist) > 4:  # drop the end slices (partial volume of the first/last slices)
        dist = dist[1:-1]
    return float(np.sqrt(np.mean(dist ** 2))), float(dist.max())


def save_straightening(result: StraighteningResult, im: Image, ofolder=".", interp="spline",
                       output=None) -> dict:
    """Write straight_ref, <input>_straight and both warping fields into ``ofolder``."""
    import os

    from spinalcordtoolbox.image import split_ext
    from spinalcordtoolbox.registration.warp import write_warp

    from spinalcordtoolbox.utils.fs import check_not_input

    order = {"nn": 0, "linear": 1, "spline": 3}[interp]
    im3 = im.copy().require_3d("input image")
    stem = split_ext(im.absolutepath or "image.nii.gz")[0]
    paths = {
        "straight_ref": os.path.join(ofolder, "straight_ref.nii.gz"),
        "straight": output or os.path.join(ofolder, f"{stem}_straight.nii.gz"),
        "warp_curve2straight": os.path.join(ofolder, "warp_curve2straight.nii.gz"),
        "warp_straight2curve": os.path.join(ofolder, "warp_straight2curve.nii.gz"),
    }
    for path in paths.values():  # all names checked before the first file is written
        check_not_input(path)
    straight = resample_through(im3, result.straight_ref, result.mapping.dest_to_src, order=order)
    if order == 0:
        straight.data = straight.data.astype(im3.data.dtype)
        straight.hdr.set_data_dtype(straight.data.dtype)
    straight.save(paths["straight_ref"])
    straight.save(paths["straight"])
    write_warp(result.warp_curve2straight, result.straight_ref, paths["warp_curve2straight"])
    write_warp(result.warp_straight2curve, im3, paths["warp_straight2curve"])
    return paths
