"""The one image class of the toolbox: NIfTI I/O, orientation, voxel/world transforms.

Orientation codes follow the toolbox's own naming, which names the direction each voxel
axis comes *from* ("RPI": x goes from Right to left, y from Posterior to anterior, z from
Inferior to superior). nibabel names where an axis points *to*, so the toolbox's RPI is
nibabel's LAS. RPI is the internal working orientation of every algorithm.
"""
from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

_OPPOSITE = {"R": "L", "L": "R", "A": "P", "P": "A", "I": "S", "S": "I"}

#: All 48 valid 3-D orientation codes, in the toolbox's naming.
ALL_ORIENTATIONS = sorted(
    "".join(p)
    for axes in itertools.permutations(["RL", "AP", "IS"])
    for p in itertools.product(*axes)
)


class ImageError(ValueError):
    """Raised for images that cannot be used as asked (bad shape, dimension, type...)."""


def sct_to_nib_axcodes(orientation: str) -> tuple[str, str, str]:
    """Convert a toolbox orientation code ("RPI") to nibabel axis codes (("L","A","S"))."""
    orientation = orientation.upper()
    if orientation not in ALL_ORIENTATIONS:
        raise ImageError(
            f"Invalid orientation '{orientation}': use 3 letters, one of R/L, A/P, I/S each "
            f"(e.g. RPI, AIL, LPI)")
    return tuple(_OPPOSITE[c] for c in orientation)


def nib_axcodes_to_sct(axcodes) -> str:
    """Convert nibabel axis codes to the toolbox's orientation code."""
    return "".join(_OPPOSITE[c] for c in axcodes)


def _nifti_path_ok(path: str) -> bool:
    return str(path).endswith((".nii", ".nii.gz"))


class Image:
    """A 2-D to 5-D NIfTI image: data array + affine + header.

    Create from a path (``Image("t2.nii.gz")``), from another Image (copy), or from an
    array (``Image(array, hdr=header, affine=affine)``). Data keep their on-disk dtype.
    """

    def __init__(self, param=None, hdr=None, affine=None, absolutepath=None, check_sform=False):
        import nibabel as nib

        self.absolutepath = None
        if isinstance(param, Image):
            self.data = param.data.copy()
            self.hdr = param.hdr.copy()
            self.absolutepath = param.absolutepath
        elif isinstance(param, (str, os.PathLike)):
            self._load(param)
        elif isinstance(param, np.ndarray):
            self.data = param
            if hdr is None:
                hdr = nib.Nifti1Header()
                hdr.set_data_dtype(_savable_dtype(param.dtype))
            self.hdr = hdr.copy()
            if affine is None:
                affine = self.hdr.get_best_affine() if hdr is not None else np.eye(4)
            self._set_affine_in_header(np.asarray(affine, dtype=float))
            self.hdr.set_data_shape(param.shape)
            if absolutepath is not None:
                self.absolutepath = os.path.abspath(absolutepath)
        else:
            raise TypeError(f"Cannot create an Image from {type(param).__name__}")

    # ------------------------------------------------------------------ I/O
    def _load(self, path):
        import nibabel as nib

        _accept_quaternion_rounding(nib)
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"File not found: {path}")
        if not _nifti_path_ok(path):
            raise ImageError(f"Not a NIfTI file (.nii or .nii.gz expected): {path}")
        try:
            if path.endswith(".gz"):
                self.hdr, self.data = _read_gzip_verified(path)
            else:
                img = nib.load(path)
                if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
                    raise ImageError(f"Not a NIfTI image: {path}")
                self.hdr = img.header.copy()
                # dataobj keeps the stored dtype (no float64 promotion) unless scaling applies
                self.data = np.asanyarray(img.dataobj)
        except ImageError:
            raise
        except (EOFError, OSError) as e:
            if isinstance(e, (PermissionError, IsADirectoryError)):
                raise
            raise ImageError(f"Corrupt or truncated compressed file {path} ({e}): the data cannot be "
                             f"trusted; re-copy or re-export it") from None
        except Exception as e:  # nibabel raises a zoo of errors for corrupt files
            raise ImageError(f"Cannot read NIfTI file {path}: {e}") from None
        if self.hdr["scl_slope"] not in (0, 1) and np.isfinite(self.hdr["scl_slope"]):
            self.hdr.set_slope_inter(np.nan, np.nan)
        self.absolutepath = os.path.abspath(path)
        _apply_nonfinite_rule(self, path)

    def save(self, path=None, dtype=None, verbose=True):
        """Write the image atomically (temp file then rename). Refuses to overwrite an input."""
        import nibabel as nib
        from spinalcordtoolbox.utils.fs import atomic_output, check_not_input

        path = os.fspath(path) if path is not None else self.absolutepath
        if path is None:
            raise ImageError("No output path given to save the image")
        if not _nifti_path_ok(path):
            raise ImageError(f"Output must end with .nii or .nii.gz: {path}")
        check_not_input(path)
        data = self.data if dtype is None else self.data.astype(dtype)
        data = _to_savable(data)
        n_bad = int(data.size - np.count_nonzero(np.isfinite(data))) if data.dtype.kind in "fc" else 0
        if n_bad and n_bad == data.size:
            raise ImageError(f"The result for {path} is NaN/Inf in every voxel (undefined): nothing written")
        hdr = self.hdr.copy()
        hdr.set_data_dtype(data.dtype)
        qform, qcode = self.hdr.get_qform(coded=True)
        sform, scode = self.hdr.get_sform(coded=True)
        img = nib.Nifti1Image(data, None, hdr)
        if qcode:
            img.set_qform(qform, code=int(qcode))
        if scode:
            img.set_sform(sform, code=int(scode))
        if not qcode and not scode:
            img.set_qform(self.affine, code=0)
        stored = np.array(self.hdr["pixdim"][1:4], dtype=np.float64)
        if np.all(stored > 0) and np.allclose(img.header["pixdim"][1:4], stored, rtol=1e-5, atol=0):
            img.header["pixdim"][1:4] = stored   # set_qform recomputed them (see _set_affine_in_header)
        img.header.set_slope_inter(np.nan, np.nan)
        with atomic_output(path) as tmp_path:
            nib.save(img, tmp_path)
        self.absolutepath = os.path.abspath(path)
        if n_bad:  # a result that is NaN/Inf somewhere is said so, never written silently
            logger.warning("Saved %s: %d voxel(s) of %d are NaN/Inf", path, n_bad, data.size)
        elif verbose:
            logger.info("Saved %s", path)
        return self

    # ------------------------------------------------------------ geometry
    @property
    def affine(self) -> np.ndarray:
        return self.hdr.get_best_affine()

    def _set_affine_in_header(self, affine):
        qcode = int(self.hdr["qform_code"]) or 1
        scode = int(self.hdr["sform_code"]) or 1
        stored = np.array(self.hdr["pixdim"][1:4], dtype=np.float64)
        self.hdr.set_qform(affine, code=qcode)
        self.hdr.set_sform(affine, code=scode)
        # nibabel recomputes the voxel sizes from the affine (17 -> 16.999998 after a round trip
        # through float32 rows); when the geometry kept them, keep the header's exact values
        if np.all(stored > 0) and np.allclose(self.hdr["pixdim"][1:4], stored, rtol=1e-5, atol=0):
            self.hdr["pixdim"][1:4] = stored

    @property
    def dim(self):
        """(nx, ny, nz, nt, px, py, pz, pt) as the toolbox has always exposed it."""
        shape = list(self.data.shape) + [1] * (4 - self.data.ndim)
        zooms = list(self.hdr.get_zooms()) + [1.0] * (4 - len(self.hdr.get_zooms()))
        return tuple(shape[:4]) + tuple(float(z) for z in zooms[:4])

    @property
    def pixdim(self):
        return tuple(float(z) for z in self.hdr.get_zooms()[:3])

    @property
    def orientation(self) -> str:
        import nibabel as nib

        return nib_axcodes_to_sct(nib.aff2axcodes(self.affine))

    def change_orientation(self, orientation: str, data_only=False) -> "Image":
        """Reorient in place (data and affine together, world coordinates unchanged).

        With ``data_only`` the array is permuted/flipped but the header kept, as
        ``sct_image -setorient-data`` does (to fix a wrong header). Returns self.
        """
        import nibabel.orientations as nio

        if self.data.ndim < 3:
            raise ImageError("Orientation can only be changed for images with 3 or more dimensions")
        target = nio.axcodes2ornt(sct_to_nib_axcodes(orientation))
        current = nio.io_orientation(self.affine)
        transform = nio.ornt_transform(current, target)
        shape3 = self.data.shape[:3]
        self.data = np.ascontiguousarray(nio.apply_orientation(self.data, transform))
        if not data_only:
            new_affine = self.affine @ nio.inv_ornt_aff(transform, shape3)
            zooms = list(self.hdr.get_zooms())
            perm = [int(transform[i, 0]) for i in range(3)]
            new_zooms = zooms.copy()
            for i in range(3):
                new_zooms[perm[i]] = zooms[i]
            self.hdr.set_data_shape(self.data.shape)
            self.hdr.set_zooms(new_zooms)
            self._set_affine_in_header(new_affine)
        else:
            self.hdr.set_data_shape(self.data.shape)
        return self

    def transfo_pix2phys(self, coordi) -> np.ndarray:
        """Voxel indices (N,3) -> world coordinates in mm (N,3), RAS+ as nibabel."""
        coordi = np.atleast_2d(np.asarray(coordi, dtype=float))[:, :3]
        return coordi @ self.affine[:3, :3].T + self.affine[:3, 3]

    def transfo_phys2pix(self, coordi, real=True) -> np.ndarray:
        """World coordinates (N,3) -> voxel indices; rounded to int unless ``real``."""
        coordi = np.atleast_2d(np.asarray(coordi, dtype=float))[:, :3]
        inv = np.linalg.inv(self.affine)
        vox = coordi @ inv[:3, :3].T + inv[:3, 3]
        return vox if real else np.rint(vox).astype(int)

    # ---------------------------------------------------------- utilities
    def copy(self) -> "Image":
        return Image(self)

    @property
    def path(self):
        return self.absolutepath

    def nonzero_coords(self) -> np.ndarray:
        """Voxels with non-zero value as rows (x, y, z, value) — point labels."""
        if self.data.ndim != 3:
            raise ImageError("Label coordinates need a 3-D image")
        idx = np.argwhere(self.data != 0)
        values = self.data[tuple(idx.T)]
        return np.column_stack([idx, values]) if len(idx) else np.zeros((0, 4))

    def change_type(self, dtype) -> "Image":
        """Cast the data to ``dtype``, refusing values outside the type's range."""
        dtype = np.dtype(dtype)
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            finite = self.data[np.isfinite(self.data)] if self.data.dtype.kind == "f" else self.data
            if finite.size and (finite.min() < info.min or finite.max() > info.max):
                raise ImageError(
                    f"Values in [{finite.min()}, {finite.max()}] do not fit in {dtype.name} "
                    f"[{info.min}, {info.max}]")
            data = np.rint(self.data) if self.data.dtype.kind == "f" else self.data
            self.data = data.astype(dtype)
        else:
            self.data = self.data.astype(dtype)
        self.hdr.set_data_dtype(_savable_dtype(self.data.dtype))
        return self

    def is_3d(self) -> bool:
        return self.data.ndim == 3 or (self.data.ndim > 3 and all(s == 1 for s in self.data.shape[3:]))

    def require_3d(self, name="image"):
        """Squeeze trailing singleton dims; raise a clear error for true 4-D data."""
        if self.data.ndim < 3:
            raise ImageError(f"The {name} must be 3-D, got a {self.data.ndim}-D image {self.data.shape}")
        if not self.is_3d():
            raise ImageError(f"The {name} must be 3-D, got a 4-D image with shape {self.data.shape}")
        if self.data.ndim > 3:
            self.data = self.data.reshape(self.data.shape[:3])
            self.hdr.set_data_shape(self.data.shape)
        return self

    def require_4d(self, name="image", min_volumes=1):
        """Raise a clear error unless the image is a 4-D series (of at least ``min_volumes``)."""
        if self.data.ndim != 4:
            raise ImageError(f"The {name} must be a 4-D series, got a {self.data.ndim}-D image "
                             f"{self.data.shape}")
        if self.data.shape[3] < min_volumes:
            raise ImageError(f"The {name} has {self.data.shape[3]} volumes: at least {min_volumes} needed")
        return self

    def __repr__(self):
        name = os.path.basename(self.absolutepath) if self.absolutepath else "<array>"
        return f"Image({name}, shape={self.data.shape}, orientation={self.orientation})"


def _apply_nonfinite_rule(img: Image, path):
    """The running command's rule for NaN/Inf voxels in a file the user gave it (utils.cli.run_command's
    ``nonfinite``): refuse naming the file and the count, or read them as 0 with one warning."""
    if img.data.dtype.kind not in "fc":
        return
    from spinalcordtoolbox.utils.cli import nonfinite_rule

    rule, first_time = nonfinite_rule(path)
    if rule in (None, "keep"):
        return
    finite = np.isfinite(img.data)
    n_bad = int(finite.size - np.count_nonzero(finite))
    if not n_bad:
        return
    what = f"{n_bad} NaN/Inf voxel(s) of {finite.size}"
    if rule == "refuse":
        raise ImageError(f"{path} has {what}: this command does not accept them; set them to a number "
                         f"first (e.g. fslmaths <in> -nan <out>)")
    img.data = np.where(finite, img.data, 0).astype(img.data.dtype, copy=False)
    if first_time:  # one warning per file, however often the command reads it
        logger.warning("%s has %s: they are read as 0", path, what)


def _read_gzip_verified(path):
    """Header and data of a .nii.gz, reading the gzip stream to its end.

    nibabel stops reading once it has the voxels, so a stream corrupted in the middle (CRC
    mismatch) would be accepted with wrong values; reading to the end makes gzip check the
    CRC and length of what was decompressed. One decompression, no extra copy of the data.
    """
    import gzip

    import nibabel as nib

    with gzip.open(path, "rb") as gz:
        try:
            img = nib.Nifti1Image.from_stream(gz)
        except nib.spatialimages.HeaderDataError:
            gz.seek(0)
            img = nib.Nifti2Image.from_stream(gz)
        hdr = img.header.copy()
        data = np.asanyarray(img.dataobj)
        while gz.read(1 << 20):  # to the end: raises BadGzipFile on a CRC/length mismatch
            pass
    return hdr, data


# ---------------------------------------------------------------- functions
#: qforms written by some converters have b^2 + c^2 + d^2 a little above 1 (w^2 = -8e-07 seen in
#: the field); other tools read them with w = 0, nibabel refuses anything below -3.6e-07
QUATERNION_TOLERANCE = -1e-5


def _accept_quaternion_rounding(nib):
    if nib.Nifti1Header.quaternion_threshold > QUATERNION_TOLERANCE:
        nib.Nifti1Header.quaternion_threshold = QUATERNION_TOLERANCE
        nib.Nifti2Header.quaternion_threshold = QUATERNION_TOLERANCE


def zeros_like(img: Image, dtype=None) -> Image:
    """An image on the same grid, filled with zeros."""
    out = Image(np.zeros(img.data.shape, dtype=dtype or img.data.dtype), hdr=img.hdr, affine=img.affine)
    out.absolutepath = img.absolutepath
    return out


def empty_like(img: Image, data: np.ndarray) -> Image:
    """An image on the same 3-D grid/header as ``img`` holding ``data``."""
    hdr = img.hdr.copy()
    hdr.set_data_dtype(_savable_dtype(data.dtype))
    return Image(data, hdr=hdr, affine=img.affine)


def split_img_data(img: Image, dim: int, squeeze=True) -> list[Image]:
    """Split along axis ``dim`` (0..3); each part keeps the world position of its voxels."""
    if dim >= img.data.ndim:
        raise ImageError(f"Cannot split along dimension {dim} of a {img.data.ndim}-D image")
    parts = []
    for i in range(img.data.shape[dim]):
        data = np.take(img.data, [i], axis=dim)
        affine = img.affine.copy()
        if dim < 3:
            offset = np.zeros(3)
            offset[dim] = i
            affine[:3, 3] = img.transfo_pix2phys(offset)[0]
        if squeeze and dim == 3:
            data = data[..., 0] if data.ndim == 4 else np.squeeze(data, axis=3)
        hdr = img.hdr.copy()
        parts.append(Image(np.ascontiguousarray(data), hdr=hdr, affine=affine))
    return parts


def concat_data(images: list[Image], dim: int) -> Image:
    """Concatenate images along axis ``dim`` (3 = time); header of the first image."""
    if not images:
        raise ImageError("No image to concatenate")
    arrays = []
    for im in images:
        d = im.data
        while d.ndim <= dim:
            d = d[..., np.newaxis]
        arrays.append(d)
    shapes = {a.shape[:dim] + a.shape[dim + 1:] for a in arrays}
    if len(shapes) > 1:
        raise ImageError(f"Images have different shapes apart from dimension {dim}: {sorted(shapes)}")
    data = np.concatenate(arrays, axis=dim)
    hdr = images[0].hdr.copy()
    out = Image(data, hdr=hdr, affine=images[0].affine)
    return out


def pad_image(img: Image, pad_x=(0, 0), pad_y=(0, 0), pad_z=(0, 0)) -> Image:
    """Zero-pad along x, y, z (before, after), moving the origin so voxels keep their world position."""
    pads = [tuple(pad_x), tuple(pad_y), tuple(pad_z)] + [(0, 0)] * (img.data.ndim - 3)
    data = np.pad(img.data, pads, mode="constant")
    affine = img.affine.copy()
    affine[:3, 3] = img.transfo_pix2phys([[-pad_x[0], -pad_y[0], -pad_z[0]]])[0]
    return Image(data, hdr=img.hdr, affine=affine)


def crop_image(img: Image, xmin=0, xmax=None, ymin=0, ymax=None, zmin=0, zmax=None) -> Image:
    """Crop to inclusive index bounds (None = to the end); world positions are kept."""
    shape = img.data.shape
    bounds = []
    for lo, hi, n in ((xmin, xmax, shape[0]), (ymin, ymax, shape[1]), (zmin, zmax, shape[2])):
        lo = 0 if lo is None else max(0, int(lo))
        hi = n - 1 if hi is None or hi == -1 else min(n - 1, int(hi))
        if hi < lo:
            raise ImageError(f"Empty crop range [{lo}, {hi}]")
        bounds.append((lo, hi))
    sl = tuple(slice(lo, hi + 1) for lo, hi in bounds)
    data = img.data[sl]
    affine = img.affine.copy()
    affine[:3, 3] = img.transfo_pix2phys([[b[0] for b in bounds]])[0]
    return Image(np.ascontiguousarray(data), hdr=img.hdr, affine=affine)


def describe_grid(img: Image) -> str:
    """'60x55x52 vox of 1x1x1 mm, AIL, origin -32.2,31.8,-19.3' — a grid, for error messages."""
    shape = "x".join(str(n) for n in img.data.shape[:3])
    pix = "x".join(f"{p:.3g}" for p in img.pixdim)
    origin = ",".join(f"{v:.1f}" for v in img.affine[:3, 3])
    try:
        orient = img.orientation
    except Exception:
        orient = "?"
    return f"{shape} vox of {pix} mm, {orient}, origin {origin}"


def same_grid(img1: Image, img2: Image, atol=1e-3) -> bool:
    """Whether two images share the voxel grid (3-D shape and affine)."""
    return img1.data.shape[:3] == img2.data.shape[:3] and np.allclose(img1.affine, img2.affine, atol=atol)


def check_same_grid(img1: Image, img2: Image, names=("image", "reference"), atol=1e-3):
    """Raise if two images are not on the same voxel grid (shape and affine), naming both grids.

    The one check used wherever two images are combined voxel by voxel (maths, concatenation,
    label comparison, segmentation over an image, QC overlays): the toolbox never resamples
    silently; the user resamples explicitly (sct_register_multimodal -identity 1, sct_resample).
    """
    if same_grid(img1, img2, atol):
        return
    same_shape = img1.data.shape[:3] == img2.data.shape[:3]
    what = "dimensions" if not same_shape else "voxel grids"
    raise ImageError(
        f"The {names[0]} ({describe_grid(img1)}) and the {names[1]} ({describe_grid(img2)}) have "
        f"different {what}: resample one onto the other first (sct_register_multimodal -identity 1)")


def check_overlap(img: Image, seg: Image, names=("image", "segmentation")):
    """Raise if the non-zero voxels of ``seg`` lie entirely outside the field of view of ``img``.

    For inputs on different grids (e.g. a segmentation passed to a command that samples it
    through world coordinates): a segmentation of another subject, or from another session
    placed far away, must be refused before any work rather than give an empty result.
    """
    data = np.asarray(seg.data)
    if data.ndim > 3:
        data = data.reshape(data.shape[:3] + (-1,)).any(axis=3)
    elif data.ndim < 3:
        data = data.reshape(data.shape + (1,) * (3 - data.ndim))
    idx = np.argwhere(data)
    if idx.size == 0:
        raise ImageError(f"The {names[1]} is empty (no non-zero voxel)")
    world = seg.transfo_pix2phys(idx[:, :3])
    vox = img.transfo_phys2pix(world)
    shape = np.array(img.data.shape[:3])
    inside = np.all((vox > -0.5) & (vox < shape - 0.5), axis=1)
    if not inside.any():
        raise ImageError(f"The {names[1]} ({describe_grid(seg)}) does not overlap the {names[0]} "
                         f"({describe_grid(img)}): no voxel of it lies in the {names[0]}'s field of view")


def _savable_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.dtype(np.uint8)
    if dtype == np.int64:
        return np.dtype(np.int32)
    if dtype == np.uint64:
        return np.dtype(np.uint32)
    return dtype


def _to_savable(data: np.ndarray) -> np.ndarray:
    """Bool -> uint8; 64-bit ints -> 32-bit when values fit, else float64 (other tools can't read int64)."""
    if data.dtype == np.bool_:
        return data.astype(np.uint8)
    if data.dtype in (np.int64, np.uint64):
        target = np.int32 if data.dtype == np.int64 else np.uint32
        info = np.iinfo(target)
        if data.size == 0 or (data.min() >= info.min and data.max() <= info.max):
            return data.astype(target)
        return data.astype(np.float64)
    return data


def add_suffix(path, suffix: str) -> str:
    """``/a/t2.nii.gz`` + ``_seg`` -> ``/a/t2_seg.nii.gz``."""
    path = os.fspath(path)
    for ext in (".nii.gz", ".nii"):
        if path.endswith(ext):
            return path[: -len(ext)] + suffix + ext
    root, ext = os.path.splitext(path)
    return root + suffix + ext


def split_ext(path) -> tuple[str, str]:
    """Split a NIfTI file name into (stem, extension), with .nii.gz as one extension."""
    name = Path(path).name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return name[: -len(ext)], ext
    stem, ext = os.path.splitext(name)
    return stem, ext
