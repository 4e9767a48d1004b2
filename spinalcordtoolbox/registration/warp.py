"""Spatial transforms: read/write ITK warping fields and affines, compose and apply them.

Conventions (those of ITK/ANTs, so that fields are exchangeable with antsApplyTransforms):

* A displacement field is a 5-D NIfTI (x, y, z, 1, 3), float32, intent 'vector' (1007),
  holding displacements in ITK's LPS physical frame (mm): x and y negated with respect to
  nibabel's RAS world coordinates.
* Every transform maps a point of the *output* (fixed/reference) space to the *input*
  (moving) space ("pull" convention). A list ``[T1, T2, ..., Tn]`` means what it means to
  antsApplyTransforms ``-t T1 -t T2 ... -t Tn``: the *image* goes through Tn first and T1
  last, so a reference point goes through T1 first: ``p -> Tn(...T2(T1(p)))``. (The
  command-line tools take the natural order, first-applied-to-the-image first, and reverse it.)
* Affine files are ITK transforms: text (``.txt``/``.tfm``: ``Parameters`` = 9 matrix entries
  row by row then 3 translations, ``FixedParameters`` = centre) or ANTs' Matlab v4 ``.mat``.

Grids are processed in chunks of slices, so memory stays bounded on large references.
"""
from __future__ import annotations

import os

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

#: RAS <-> LPS (its own inverse)
_FLIP = np.array([-1.0, -1.0, 1.0])

INTERPOLATIONS = ("nn", "linear", "spline", "label")

_CHUNK_POINTS = 1_500_000  # points per processing chunk (~ 36 MB of float64 coordinates)


class WarpError(ValueError):
    """A transform file that cannot be used as asked."""


# ------------------------------------------------------------------ transform objects
class AffineTransform:
    """``p -> matrix @ p + offset`` on LPS points (mm)."""

    def __init__(self, matrix, offset):
        self.matrix = np.asarray(matrix, dtype=float).reshape(3, 3)
        self.offset = np.asarray(offset, dtype=float).reshape(3)

    @classmethod
    def from_itk(cls, params, fixed=(0.0, 0.0, 0.0)):
        """From ITK parameters (9 matrix entries + 3 translations, or 3 translations) and centre."""
        params = np.asarray(params, dtype=float).ravel()
        center = np.zeros(3) if fixed is None or len(fixed) == 0 else np.asarray(fixed, dtype=float)[:3]
        if params.size == 3:  # TranslationTransform
            return cls(np.eye(3), params)
        if params.size != 12:
            raise WarpError(f"Unsupported affine transform with {params.size} parameters "
                            f"(expected 12 = 3x3 matrix + translation, or 3 = translation)")
        matrix = params[:9].reshape(3, 3)
        translation = params[9:12]
        return cls(matrix, translation + center - matrix @ center)

    def inverse(self) -> "AffineTransform":
        inv = np.linalg.inv(self.matrix)
        return AffineTransform(inv, -inv @ self.offset)

    def apply(self, points: np.ndarray) -> np.ndarray:
        return points @ self.matrix.T + self.offset


class DisplacementField:
    """``p -> p + d(p)``, ``d`` linearly interpolated on the field's grid, zero outside it (as ITK)."""

    def __init__(self, disp: np.ndarray, affine: np.ndarray):
        if disp.ndim != 4 or disp.shape[3] != 3:
            raise WarpError(f"A displacement field must have shape (nx, ny, nz, 3), got {disp.shape}")
        self.disp = disp
        self.affine = np.asarray(affine, dtype=float)
        self._inv_affine = np.linalg.inv(self.affine)

    def displacement(self, points: np.ndarray) -> np.ndarray:
        from scipy.ndimage import map_coordinates

        vox = _lps_to_voxel(points, self._inv_affine)
        shape = np.array(self.disp.shape[:3])
        inside = np.all((vox >= -0.5) & (vox <= shape - 0.5), axis=1)
        out = np.zeros_like(points)
        if inside.any():
            coords = vox[inside].T
            for c in range(3):
                out[inside, c] = map_coordinates(self.disp[..., c], coords, order=1, mode="nearest")
        return out

    def apply(self, points: np.ndarray) -> np.ndarray:
        return points + self.displacement(points)

    def inverse(self, n_iter: int = 30, tol: float = 1e-3) -> "DisplacementField":
        """Numerical inverse on the same grid, by fixed-point iteration ``x = y - d(x)``.

        Converges for smooth fields whose Jacobian stays positive (the diffeomorphic fields
        registration produces). Registration writes exact inverses; this is for ``-winv``.
        """
        shape = self.disp.shape[:3]
        inv = np.zeros(self.disp.shape, dtype=np.float64)
        for sl, points in _grid_chunks(self.affine, shape):
            x = points - self.displacement(points)
            active = np.ones(len(points), dtype=bool)
            for _ in range(n_iter):
                x_new = points[active] - self.displacement(x[active])
                moved = np.max(np.abs(x_new - x[active]), axis=1)
                x[active] = x_new
                active[np.flatnonzero(active)[moved < tol]] = False  # converged points stop
                if not active.any():
                    break
            inv[:, :, sl] = (x - points).reshape(shape[0], shape[1], -1, 3)
        return DisplacementField(inv, self.affine)


class Composite:
    """A chain of transforms in ANTs order (the image sees the last one first)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def apply(self, points: np.ndarray) -> np.ndarray:
        for t in self.transforms:  # reference points go through the first one first
            points = t.apply(points)
        return points

    def apply_on_grid(self, points: np.ndarray, affine, shape, sl: slice) -> np.ndarray:
        """:meth:`apply` for the voxels of slices ``sl`` of a grid; a leading field defined on
        that very grid is read, not interpolated (the usual case, and 3/4 of the work)."""
        first = self.transforms[0] if self.transforms else None
        if (isinstance(first, DisplacementField) and first.disp.shape[:3] == tuple(shape[:3])
                and np.allclose(first.affine, affine, atol=1e-6)):
            points = points + first.disp[:, :, sl].reshape(-1, 3)
            return Composite(self.transforms[1:]).apply(points)
        return self.apply(points)


# ------------------------------------------------------------------ reading / writing
def read_warp(path) -> tuple[Image, np.ndarray]:
    """Read an ITK displacement field: (the field's Image, displacements (nx, ny, nz, 3) LPS mm).

    Accepts the 5-D (x, y, z, 1, 3) layout of ITK/ANTs and the 4-D (x, y, z, 3) variant with
    the 'vector' intent; other 4-D images (FSL warps, time series) are refused, as are fields
    holding NaN or Inf.
    """
    im = path if isinstance(path, Image) else Image(path)
    data = im.data
    if data.ndim == 5 and data.shape[3] == 1 and data.shape[4] == 3:
        disp = data[:, :, :, 0, :]
    elif data.ndim == 4 and data.shape[3] == 3 and int(im.hdr["intent_code"]) == 1007:
        disp = data
    elif data.ndim == 4:
        # FSL/SPM fields and 3-volume series share this shape but not the ITK convention
        raise WarpError(f"{_name(im)} is a 4-D image {data.shape}, not an ITK displacement field "
                        f"(x, y, z, 1, 3): an FSL warp is converted with 'sct_image -from-fsl'")
    else:
        raise WarpError(f"{_name(im)} is not a displacement field: expected shape (x, y, z, 1, 3), "
                        f"got {data.shape}")
    disp = np.asarray(disp, dtype=np.float32)
    if not np.isfinite(disp).all():
        raise WarpError(f"{_name(im)} contains NaN or Inf displacements: it is not a usable warping field")
    return im, disp


def check_not_emptied(moved: Image, source: Image, what="image"):
    """Raise when a non-empty ``source`` became all zero through a warp: the transforms map it
    entirely outside its field of view (a field made for another image or template)."""
    if np.any(source.data) and not np.any(moved.data):
        raise WarpError(f"The warped {what} is empty: the transforms map it entirely outside its field "
                        f"of view (is the warping field made for these images?); nothing written")


def write_warp(disp: np.ndarray, ref: Image, path) -> Image:
    """Write displacements (nx, ny, nz, 3) in LPS mm on ``ref``'s grid as an ITK field."""
    disp = np.asarray(disp)
    if disp.shape != tuple(ref.data.shape[:3]) + (3,):
        raise WarpError(f"Displacements of shape {disp.shape} do not match the reference grid "
                        f"{ref.data.shape[:3]}")
    # no copy when the displacements are already float32 (a full-PAM50 field is ~240 MB)
    data = disp.astype(np.float32, copy=False).reshape(disp.shape[:3] + (1, 3))
    hdr = ref.hdr.copy()
    hdr.set_data_dtype(np.float32)
    hdr.set_data_shape(data.shape)
    zooms = list(ref.hdr.get_zooms()[:3]) + [1.0, 1.0]
    hdr.set_zooms(zooms)
    hdr.set_intent("vector")
    hdr.set_slope_inter(np.nan, np.nan)
    hdr["cal_min"] = hdr["cal_max"] = 0
    im = Image(data, hdr=hdr, affine=ref.affine)
    im.hdr.set_intent("vector")
    im.save(path)
    return im


def read_affine(path) -> AffineTransform:
    """Read an ITK affine transform file (.txt/.tfm text, or ANTs' .mat)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Transform file not found: {path}")
    if path.endswith(".mat"):
        from scipy.io import loadmat

        try:
            mat = loadmat(path)
        except Exception as e:
            raise WarpError(f"Cannot read the affine file {path}: {e}") from None
        keys = [k for k in mat if not k.startswith("__") and k != "fixed"]
        if not keys:
            raise WarpError(f"No transform found in {path}")
        fixed = mat["fixed"].ravel() if "fixed" in mat else None
        return AffineTransform.from_itk(mat[keys[0]].ravel(), fixed)
    params = fixed = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.strip() == "Parameters" and params is None:
                params = [float(v) for v in value.split()]
            elif key.strip() == "FixedParameters" and fixed is None:
                fixed = [float(v) for v in value.split()]
    if params is None:
        raise WarpError(f"{path} is not an ITK transform file (no 'Parameters:' line)")
    return AffineTransform.from_itk(params, fixed)


def write_affine(transform: AffineTransform, path):
    """Write an affine as an ITK text transform (read by ANTs and ITK-SNAP)."""
    from spinalcordtoolbox.utils.fs import atomic_write_text

    params = list(transform.matrix.ravel()) + list(transform.offset)
    text = ("#Insight Transform File V1.0\n#Transform 0\nTransform: AffineTransform_double_3_3\n"
            f"Parameters: {' '.join(repr(float(p)) for p in params)}\n"
            "FixedParameters: 0 0 0\n")
    atomic_write_text(path, text)


def is_field_path(path) -> bool:
    return str(path).endswith((".nii", ".nii.gz"))


def load_transform(spec, invert=False):
    """A transform object from a path (field or affine) or an already-built transform."""
    if isinstance(spec, (AffineTransform, DisplacementField, Composite)):
        t = spec
    else:
        path = os.fspath(spec)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Transform file not found: {path}")
        if is_field_path(path):
            im, disp = read_warp(path)
            t = DisplacementField(disp, im.affine)
        elif path.endswith((".txt", ".tfm", ".mat")):
            t = read_affine(path)
        else:
            raise WarpError(f"Unknown transform format: {path} (expected .nii.gz field or "
                            f".txt/.mat affine)")
    if invert:
        if isinstance(t, Composite):
            raise WarpError("Cannot invert a composite transform")
        t = t.inverse()
    return t


def _load_chain(transforms, inverse):
    transforms = list(transforms)
    if inverse is None:
        inverse = [False] * len(transforms)
    if len(inverse) != len(transforms):
        raise WarpError(f"{len(transforms)} transforms but {len(inverse)} inverse flags")
    return Composite([load_transform(t, inv) for t, inv in zip(transforms, inverse)])


# ------------------------------------------------------------------ grid helpers
def _lps_to_voxel(points, inv_affine):
    return (points * _FLIP) @ inv_affine[:3, :3].T + inv_affine[:3, 3]


def _grid_chunks(affine, shape):
    """Yield (z-slice, LPS points of the voxels of those slices in C order)."""
    nx, ny, nz = shape[:3]
    per_slice = max(1, nx * ny)
    step = max(1, _CHUNK_POINTS // per_slice)
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    for k0 in range(0, nz, step):
        k1 = min(nz, k0 + step)
        kk = np.arange(k0, k1)
        ijk = np.stack(np.broadcast_arrays(ii[..., None], jj[..., None], kk[None, None, :]), axis=-1)
        ijk = ijk.reshape(-1, 3).astype(float)
        ras = ijk @ affine[:3, :3].T + affine[:3, 3]
        yield slice(k0, k1), ras * _FLIP


def _name(im):
    return os.path.basename(im.absolutepath) if getattr(im, "absolutepath", None) else "the image"


# ------------------------------------------------------------------ composition / application
def compose_warps(transforms, ref: Image, inverse=None) -> np.ndarray:
    """One displacement field (nx, ny, nz, 3, LPS mm) on ``ref``'s grid equal to the chain."""
    chain = _load_chain(transforms, inverse)
    shape = ref.data.shape[:3]
    out = np.zeros(tuple(shape) + (3,), dtype=np.float32)
    for sl, points in _grid_chunks(ref.affine, shape):
        mapped = chain.apply_on_grid(points, ref.affine, shape, sl)
        out[:, :, sl] = (mapped - points).reshape(shape[0], shape[1], -1, 3)
    return out


def chain_coverage(transforms, ref: Image, inverse=None) -> np.ndarray:
    """Boolean (nx, ny, nz) on ``ref``'s grid: where every displacement field of the chain is
    defined, i.e. a reference point, followed through the chain, lies inside each field's grid
    when it reaches it. Elsewhere a field gives zero displacement (as in ITK): such points are
    not mapped by it, only passed through unchanged."""
    chain = _load_chain(transforms, inverse)
    shape = tuple(ref.data.shape[:3])
    out = np.ones(shape, dtype=bool)
    for sl, points in _grid_chunks(ref.affine, shape):
        inside = np.ones(len(points), dtype=bool)
        for t in chain.transforms:
            if isinstance(t, DisplacementField):
                vox = _lps_to_voxel(points, t._inv_affine)
                inside &= np.all((vox >= -0.5) & (vox <= np.array(t.disp.shape[:3]) - 0.5), axis=1)
            points = t.apply(points)
        out[:, :, sl] = inside.reshape(shape[0], shape[1], -1)
    return out


def apply_transforms(img: Image, ref: Image, transforms, inverse=None, interp="linear",
                     crop=0) -> Image:
    """Resample ``img`` onto ``ref``'s grid through ``transforms`` (ANTs order).

    ``interp``: nn, linear, spline (cubic B-spline) or label (point labels: each label value
    moves to the reference voxel whose mapped position is closest to it, so single-voxel
    labels are never lost). 4-D images are resampled volume by volume. Values outside the
    input's field of view are 0. ``crop`` 1/2 (as ``sct_apply_transfo -crop``): zero / crop
    the output outside the bounding box where the first displacement field of the list is
    non-zero.
    """
    from scipy.ndimage import map_coordinates, spline_filter

    if interp not in INTERPOLATIONS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("interpolation", interp, INTERPOLATIONS)
    if img.data.ndim > 4 or img.data.ndim < 3:
        raise ImageError(f"Can only apply transforms to 3-D or 4-D images, got shape {img.data.shape}")
    chain = _load_chain(transforms, inverse)
    shape = tuple(ref.data.shape[:3])
    data = img.data if img.data.ndim == 4 else img.data[..., np.newaxis]
    n_vol = data.shape[3]
    inv_affine = np.linalg.inv(img.affine)

    if interp == "label":
        out = _apply_to_labels(data, img.affine, chain, ref)
    else:
        order = {"nn": 0, "linear": 1, "spline": 3}[interp]
        out_dtype = data.dtype if interp == "nn" else np.float32
        out = np.zeros(shape + (n_vol,), dtype=out_dtype)
        volumes = []
        for v in range(n_vol):
            vol = np.asarray(data[..., v], dtype=np.float64 if order else data.dtype)
            volumes.append(spline_filter(vol, order=3, mode="mirror") if order == 3 else vol)
        in_shape = np.array(data.shape[:3])
        for sl, points in _grid_chunks(ref.affine, shape):
            vox = _lps_to_voxel(chain.apply_on_grid(points, ref.affine, shape, sl), inv_affine)
            inside = np.all((vox >= -0.5) & (vox <= in_shape - 0.5), axis=1)
            coords = vox[inside].T
            for v, vol in enumerate(volumes):
                values = np.zeros(len(points), dtype=np.float64)
                if coords.size:
                    values[inside] = map_coordinates(vol, coords, order=order, mode="nearest",
                                                     prefilter=False)
                out[:, :, sl, v] = values.reshape(shape[0], shape[1], -1).astype(out_dtype)

    if crop:
        out = _crop_to_field(out, chain, ref, crop)
        if isinstance(out, tuple):
            out, ref = out
    if img.data.ndim == 3:
        out = out[..., 0]
    hdr = ref.hdr.copy()
    hdr.set_data_dtype(out.dtype)
    hdr.set_intent("none")
    result = Image(out, hdr=hdr, affine=ref.affine)
    if out.ndim == 4:
        zooms = list(ref.hdr.get_zooms()[:3]) + [img.hdr.get_zooms()[3] if len(img.hdr.get_zooms()) > 3 else 1.0]
        result.hdr.set_zooms(zooms)
    return result


def _apply_to_labels(data, affine, chain, ref):
    """Move each label (its centre of mass) to the nearest mapped reference voxel."""
    shape = tuple(ref.data.shape[:3])
    out = np.zeros(shape + (data.shape[3],), dtype=data.dtype)
    for v in range(data.shape[3]):
        vol = data[..., v]
        values = [val for val in np.unique(vol) if val != 0]
        if not values:
            continue
        centres = np.array([np.argwhere(vol == val).mean(axis=0) for val in values])
        targets = (centres @ affine[:3, :3].T + affine[:3, 3]) * _FLIP  # LPS
        best = np.full(len(values), np.inf)
        best_ijk = np.zeros((len(values), 3), dtype=int)
        for sl, points in _grid_chunks(ref.affine, shape):
            mapped = chain.apply_on_grid(points, ref.affine, shape, sl)
            chunk_shape = (shape[0], shape[1], sl.stop - sl.start)
            for n, target in enumerate(targets):
                d2 = np.sum((mapped - target) ** 2, axis=1)
                i = int(np.argmin(d2))
                if d2[i] < best[n]:
                    best[n] = d2[i]
                    best_ijk[n] = np.unravel_index(i, chunk_shape)
                    best_ijk[n, 2] += sl.start
        voxel_size = max(ref.pixdim)
        for n, val in enumerate(values):
            # a label whose best match is far away fell outside the reference's field of view
            if np.sqrt(best[n]) <= 2 * voxel_size:
                i, j, k = best_ijk[n]
                out[i, j, k, v] = val
    return out


def _crop_to_field(out, chain, ref, crop):
    fields = [t for t in chain.transforms if isinstance(t, DisplacementField)]
    if not fields:
        return out
    field = fields[0]
    # ANTs/the toolbox mark points without a valid mapping with huge values (float max)
    nonzero = np.any(field.disp != 0, axis=3) & np.all(np.abs(field.disp) < 1e10, axis=3)
    if not nonzero.any():
        return out
    idx = np.argwhere(nonzero)
    corners = np.array([[a, b, c] for a in (idx[:, 0].min(), idx[:, 0].max())
                        for b in (idx[:, 1].min(), idx[:, 1].max())
                        for c in (idx[:, 2].min(), idx[:, 2].max())], dtype=float)
    world = corners @ field.affine[:3, :3].T + field.affine[:3, 3]
    vox = Image.transfo_phys2pix(ref, world)
    lo = np.clip(np.floor(vox.min(axis=0)).astype(int), 0, None)
    hi = np.minimum(np.ceil(vox.max(axis=0)).astype(int), np.array(out.shape[:3]) - 1)
    if crop == 1:
        mask = np.zeros(out.shape[:3], dtype=bool)
        mask[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1] = True
        out = out * mask[..., None]
        return out
    from spinalcordtoolbox.image import crop_image
    cropped_ref = crop_image(ref, lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
    return out[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1], cropped_ref


def displacement_from_voxel_shifts(ref: Image, shifts_vox: np.ndarray) -> np.ndarray:
    """Convert per-voxel shifts in ``ref``'s voxel axes (nx, ny, nz, 3) into LPS mm displacements."""
    ras = shifts_vox @ ref.affine[:3, :3].T
    return ras * _FLIP


def natural_to_ants(paths, inverted=()):
    """Command-line order (first applied to the image first; comma lists allowed) -> ANTs order.

    Returns (transforms, inverse flags) for :func:`apply_transforms`. Every path in
    ``inverted`` must be one of ``paths``.
    """
    flat = [p for item in paths for p in str(item).split(",") if p]
    inv_set = {os.path.realpath(p) for item in inverted for p in str(item).split(",") if p}
    unknown = inv_set - {os.path.realpath(p) for p in flat}
    if unknown:
        raise WarpError(f"-winv lists transforms that are not in -w: {', '.join(sorted(unknown))}")
    flat = flat[::-1]
    return flat, [os.path.realpath(p) in inv_set for p in flat]


# ------------------------------------------------------------------ FSL (FNIRT) fields
#: NIfTI intent code FSL gives relative displacement fields (FSL_FNIRT_DISPLACEMENT_FIELD)
FSL_DISPLACEMENT_INTENT = 2006


def _fsl_scaled(vox: np.ndarray, im: Image) -> np.ndarray:
    """Voxel indices -> FSL 'scaled voxel' mm (x index mirrored when the affine is neurological)."""
    shape = np.array(im.data.shape[:3], dtype=float)
    out = np.array(vox, dtype=float)
    if np.linalg.det(im.affine[:3, :3]) > 0:
        out[..., 0] = shape[0] - 1 - out[..., 0]
    return out * np.array(im.pixdim)


def _fsl_unscaled(mm: np.ndarray, im: Image) -> np.ndarray:
    shape = np.array(im.data.shape[:3], dtype=float)
    vox = np.array(mm, dtype=float) / np.array(im.pixdim)
    if np.linalg.det(im.affine[:3, :3]) > 0:
        vox[..., 0] = shape[0] - 1 - vox[..., 0]
    return vox


def _grid_voxels(shape):
    return np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in shape[:3]], indexing="ij"), -1)


def itk_to_fsl(disp: np.ndarray, dest: Image, src: Image) -> np.ndarray:
    """ITK field (LPS mm, on ``dest``'s grid, pulling ``src``) -> FSL relative warp (same grid).

    FSL's relative warp (as written by FNIRT / convertwarp --relout) stores, for each voxel of
    the destination, the displacement from its FSL coordinate to the FSL coordinate of the
    source point, FSL coordinates being voxel indices times voxel size, with x mirrored for
    images whose affine has a positive determinant. Use with ``applywarp --rel``.
    """
    vox = _grid_voxels(dest.data.shape)
    ras = vox @ dest.affine[:3, :3].T + dest.affine[:3, 3]
    moved_ras = ras + np.asarray(disp, dtype=float) * _FLIP
    inv = np.linalg.inv(src.affine)
    src_vox = moved_ras @ inv[:3, :3].T + inv[:3, 3]
    return (_fsl_scaled(src_vox, src) - _fsl_scaled(vox, dest)).astype(np.float32)


def fsl_to_itk(fsl_warp: np.ndarray, dest: Image, src: Image) -> np.ndarray:
    """FSL relative warp on ``dest``'s grid (towards ``src``) -> ITK displacements (LPS mm)."""
    vox = _grid_voxels(dest.data.shape)
    src_vox = _fsl_unscaled(_fsl_scaled(vox, dest) + np.asarray(fsl_warp, dtype=float), src)
    src_ras = src_vox @ src.affine[:3, :3].T + src.affine[:3, 3]
    ras = vox @ dest.affine[:3, :3].T + dest.affine[:3, 3]
    return ((src_ras - ras) * _FLIP).astype(np.float32)


def write_fsl_warp(fsl_warp: np.ndarray, dest: Image, path) -> Image:
    """Write an FSL relative warp: 4-D (x, y, z, 3) float32, FNIRT displacement intent."""
    data = np.asarray(fsl_warp, dtype=np.float32)
    hdr = dest.hdr.copy()
    hdr.set_data_dtype(np.float32)
    hdr.set_data_shape(data.shape)
    hdr.set_zooms(list(dest.pixdim) + [1.0])
    hdr.set_intent(FSL_DISPLACEMENT_INTENT, allow_unknown=True)
    im = Image(data, hdr=hdr, affine=dest.affine)
    im.save(path)
    return im


def convert_warp(path, src_path, out_path, to_fsl: bool) -> Image:
    """``sct_image -to-fsl``/``-from-fsl``: convert a field between ITK and FSL formats.

    The field's grid is the destination; ``src_path`` is the image the field pulls from.
    """
    src = Image(src_path)
    if to_fsl:
        im, disp = read_warp(path)
        dest = Image(np.zeros(im.data.shape[:3], dtype=np.float32), hdr=im.hdr, affine=im.affine)
        return write_fsl_warp(itk_to_fsl(disp, dest, src), dest, out_path)
    im = Image(path)
    if im.data.ndim != 4 or im.data.shape[3] != 3:
        raise WarpError(f"{_name(im)} is not an FSL warp: expected shape (x, y, z, 3), got {im.data.shape}")
    dest = Image(np.zeros(im.data.shape[:3], dtype=np.float32), hdr=im.hdr, affine=im.affine)
    return write_warp(fsl_to_itk(im.data, dest, src), dest, out_path)
