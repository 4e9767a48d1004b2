"""Voxel-wise and neighbourhood operations on image arrays (the engine of ``sct_maths``).

Every function takes and returns numpy arrays (plus voxel sizes in mm where a size in mm
is converted to voxels), so that it can be checked against numpy/scipy directly. Heavy
libraries (scikit-image, dipy) are imported inside the functions that use them.

Named ``sct_math`` rather than ``math`` so that it can never shadow the standard library.
"""
from __future__ import annotations

import logging
import os

import numpy as np

logger = logging.getLogger(__name__)

AXES = {"x": 0, "y": 1, "z": 2, "t": 3}
SHAPES = ("ball", "cube", "disk")


class MathError(ValueError):
    """An operation that cannot be done on the given data (shape mismatch, bad parameter...)."""


# ----------------------------------------------------------------------- arithmetic
def _check_operand(data: np.ndarray, operand):
    """Numbers broadcast; arrays must have the input's shape (a 3-D operand may apply to 4-D data)."""
    if np.isscalar(operand):
        return operand
    operand = np.asarray(operand)
    if operand.shape == data.shape:
        return operand
    if data.ndim == 4 and operand.shape == data.shape[:3]:
        return operand[..., np.newaxis]
    raise MathError(f"Images have different shapes: {data.shape} and {operand.shape}")


def arithmetic(data: np.ndarray, op: str, operands) -> np.ndarray:
    """Apply ``op`` (add, sub, mul, div) with each operand in turn: ((data op a) op b)...

    Non-finite values: NaN/Inf already in the inputs propagate as numpy does; voxels that
    the operation itself makes undefined (x/0) are inf/nan as numpy gives them (never hidden
    by a replacement value) and counted in a warning; when no voxel of the result is
    defined (e.g. ``-div 0``), it is an error and nothing is written.
    """
    funcs = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
    if op not in funcs:
        raise MathError(f"Unknown arithmetic operation {op}")
    if not operands:
        raise MathError(f"-{op} needs at least one number or image")
    result = data
    for operand in operands:
        operand = _check_operand(data, operand)
        before = np.isfinite(result) & np.isfinite(operand)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            result = funcs[op](result, operand)
        undefined = before & ~np.isfinite(result)
        n = int(np.count_nonzero(undefined))
        if n:
            if n == undefined.size:
                raise MathError(f"-{op}: the result is undefined (inf/nan) in every voxel "
                                f"(e.g. division by zero); nothing written")
            why = "division by zero" if op == "div" else "overflow"
            logger.warning("-%s: %d voxel(s) are inf/nan in the result (%s)", op, n, why)
    return result


# ------------------------------------------------------------------- statistics
def _axis(dim: str, data: np.ndarray) -> int:
    if dim not in AXES:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("dimension", dim, AXES)
    axis = AXES[dim]
    if axis >= data.ndim:
        raise MathError(f"Cannot compute along '{dim}': the image has only {data.ndim} dimensions")
    return axis


def reduce_along(data: np.ndarray, stat: str, dim: str) -> np.ndarray:
    """Mean, root-mean-square or standard deviation along x, y, z or t.

    The reduced spatial axis is kept with length 1 (the result stays on a 3-D grid); the
    t axis is removed. ``std`` is the sample standard deviation (ddof=1), as MRI tools report
    the variability of a time series.
    """
    axis = _axis(dim, data)
    values = data.astype(np.float64)
    if stat == "mean":
        out = np.mean(values, axis=axis, keepdims=True)
    elif stat == "rms":
        out = np.sqrt(np.mean(values ** 2, axis=axis, keepdims=True))
    elif stat == "std":
        if data.shape[axis] < 2:
            raise MathError(f"Standard deviation along '{dim}' needs at least 2 values")
        out = np.std(values, axis=axis, ddof=1, keepdims=True)
    else:
        raise MathError(f"Unknown statistic {stat}")
    if axis == 3:
        out = out[..., 0]
    return out


# ------------------------------------------------------------------ thresholds
def percentile_value(data: np.ndarray, percent: float) -> float:
    """The value below which ``percent`` % of the voxels lie."""
    if not 0 <= percent <= 100:
        raise MathError(f"A percentile must be in [0, 100], got {percent}")
    return float(np.percentile(data, percent))


def binarize(data: np.ndarray, threshold: float) -> np.ndarray:
    """1 where data > threshold, else 0 (uint8)."""
    return (data > threshold).astype(np.uint8)


def threshold(data: np.ndarray, lower=None, upper=None) -> np.ndarray:
    """Set values below ``lower`` and above ``upper`` to zero (as fslmaths -thr/-uthr)."""
    out = data.copy()
    if lower is not None:
        out[data < lower] = 0
    if upper is not None:
        out[data > upper] = 0
    return out


def otsu(data: np.ndarray, nbins: int = 256) -> np.ndarray:
    """Binary mask of voxels above the Otsu threshold of the whole image."""
    from skimage.filters import threshold_otsu

    if nbins < 2:
        raise MathError("-otsu needs at least 2 histogram bins")
    return binarize(data, threshold_otsu(data, nbins=nbins))


def adaptive_threshold(data: np.ndarray, block_size: int, offset: float) -> np.ndarray:
    """Binary mask from a local (adaptive) threshold computed in each axial slice."""
    from skimage.filters import threshold_local

    if block_size < 3 or block_size % 2 == 0:
        raise MathError(f"The adaptive block size must be an odd number >= 3, got {block_size}")
    if data.ndim != 3:
        raise MathError("Adaptive thresholding needs a 3-D image")
    mask = np.zeros(data.shape, dtype=np.uint8)
    for z in range(data.shape[2]):
        sl = data[:, :, z].astype(np.float64)
        mask[:, :, z] = sl > threshold_local(sl, block_size, offset=offset)
    return mask


# ------------------------------------------------------------------ morphology
def footprint(shape: str, size: int, dim: int | None = None, ndim: int = 3) -> np.ndarray:
    """Structuring element: ball/disk of radius ``size`` voxels, cube of side ``size`` voxels.

    A disk lies in the plane perpendicular to axis ``dim`` (default 2: axial disk).
    """
    if shape not in SHAPES:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("shape", shape, SHAPES)
    if size < 0 or (shape == "cube" and size < 1):
        raise MathError(f"Invalid structuring element size {size}")
    if shape == "cube":
        return np.ones((size,) * ndim, dtype=bool)
    r = int(size)
    grid = np.mgrid[tuple(slice(-r, r + 1) for _ in range(3))]
    dist2 = np.sum(grid ** 2, axis=0)
    if shape == "ball":
        return dist2 <= r * r
    dim = 2 if dim is None else dim
    if dim not in (0, 1, 2):
        raise MathError(f"-dim must be 0, 1 or 2, got {dim}")
    disk = np.zeros((2 * r + 1,) * 3, dtype=bool)
    plane = [slice(None)] * 3
    plane[dim] = r
    in_plane = np.sum(np.delete(grid, dim, axis=0) ** 2, axis=0) <= r * r
    disk[tuple(plane)] = np.take(in_plane, r, axis=dim)
    return disk


def morphology(data: np.ndarray, op: str, shape: str, size: int, dim: int | None = None) -> np.ndarray:
    """Grey-level dilation or erosion (equal to binary morphology on masks); 4-D per volume."""
    from scipy import ndimage

    fp = footprint(shape, size, dim)
    func = {"dilate": ndimage.grey_dilation, "erode": ndimage.grey_erosion}[op]
    if data.ndim == 4:
        return np.stack([func(data[..., t], footprint=fp, mode="constant", cval=0)
                         for t in range(data.shape[3])], axis=3)
    if data.ndim != 3:
        raise MathError("Morphology needs a 3-D or 4-D image")
    # outside the image counts as background (0), so erosion eats masks touching the border
    return func(data, footprint=fp, mode="constant", cval=0)


# --------------------------------------------------------------------- filters
def sigma_in_voxels(sigma_mm, pixdim) -> list[float]:
    """One sigma in mm (or one per axis) -> sigmas in voxels of each spatial axis."""
    sigma_mm = list(np.atleast_1d(sigma_mm).astype(float))
    if len(sigma_mm) == 1:
        sigma_mm = sigma_mm * 3
    if len(sigma_mm) != 3:
        raise MathError(f"Give one sigma or three (x,y,z), got {len(sigma_mm)}")
    if any(s < 0 for s in sigma_mm):
        raise MathError("Sigma must be >= 0")
    return [s / p for s, p in zip(sigma_mm, pixdim)]


def _per_volume(func, data, **kwargs):
    if data.ndim == 4:
        return np.stack([func(data[..., t], **kwargs) for t in range(data.shape[3])], axis=3)
    return func(data, **kwargs)


def smooth(data: np.ndarray, sigma_mm, pixdim) -> np.ndarray:
    """Gaussian smoothing with sigma given in mm (float64 result)."""
    from scipy import ndimage

    sigma = sigma_in_voxels(sigma_mm, pixdim)
    return _per_volume(ndimage.gaussian_filter, data.astype(np.float64), sigma=sigma)


def laplacian(data: np.ndarray, sigma_mm, pixdim) -> np.ndarray:
    """Laplacian of Gaussian with sigma given in mm (float64 result)."""
    from scipy import ndimage

    sigma = sigma_in_voxels(sigma_mm, pixdim)
    return _per_volume(ndimage.gaussian_laplace, data.astype(np.float64), sigma=sigma)


def parse_denoise(text: str) -> tuple[int, int]:
    """'p=1,b=5' (patch radius, block radius) -> (1, 5); '1' or '' -> defaults (1, 5)."""
    patch, block = 1, 5
    for item in filter(None, str(text).split(",")):
        if "=" not in item:
            if item.strip() == "1":  # the historical '-denoise 1': defaults
                continue
            raise MathError(f"Invalid -denoise value '{text}': use p=<patch radius>,b=<block radius> (e.g. p=1,b=5)")
        key, value = item.split("=", 1)
        try:
            number = int(value)
        except ValueError:
            raise MathError(f"Invalid -denoise value '{text}': radii are integers (e.g. p=1,b=5)") from None
        if key.strip() == "p":
            patch = number
        elif key.strip() == "b":
            block = number
        else:
            raise MathError(f"Unknown -denoise parameter '{key}': use p=<patch radius>,b=<block radius>")
    if patch < 1 or block < 1:
        raise MathError("Denoising radii must be >= 1")
    return patch, block


def denoise_nlmeans(data: np.ndarray, patch_radius=1, block_radius=5) -> np.ndarray:
    """Non-local means denoising (dipy, Rician noise model, noise sigma estimated from data)."""
    from dipy.denoise.nlmeans import nlmeans
    from dipy.denoise.noise_estimate import estimate_sigma

    values = data.astype(np.float64)
    sigma = estimate_sigma(values, N=0)
    sigma = float(np.atleast_1d(sigma)[0]) if values.ndim == 3 else sigma
    # one thread: dipy's multithreaded blockwise nlmeans gives different results run to run
    return nlmeans(values, sigma=sigma, patch_radius=patch_radius, block_radius=block_radius,
                   rician=True, num_threads=1)


def symmetrize(data: np.ndarray, axis: int) -> np.ndarray:
    """Average of the image and its mirror along ``axis`` (0, 1 or 2)."""
    if axis not in (0, 1, 2):
        raise MathError(f"-symmetrize takes 0, 1 or 2, got {axis}")
    return (data.astype(np.float64) + np.flip(data, axis=axis)) / 2


# ----------------------------------------------------------------- similarity
def mutual_information(a: np.ndarray, b: np.ndarray, nbins=32, normalized=False) -> float:
    """Mutual information (nats) of two images from their joint histogram (``nbins`` bins).

    ``normalized``: MI / sqrt(H(a) H(b)), in [0, 1].
    """
    if a.shape != b.shape:
        raise MathError(f"Images have different shapes: {a.shape} and {b.shape}")
    joint, _, _ = np.histogram2d(a.ravel(), b.ravel(), bins=nbins)
    pxy = joint / joint.sum()
    px, py = pxy.sum(axis=1), pxy.sum(axis=0)
    nz = pxy > 0
    mi = float(np.sum(pxy[nz] * np.log(pxy[nz] / np.outer(px, py)[nz])))
    if not normalized:
        return mi
    hx = -np.sum(px[px > 0] * np.log(px[px > 0]))
    hy = -np.sum(py[py > 0] * np.log(py[py > 0]))
    return float(mi / np.sqrt(hx * hy)) if hx > 0 and hy > 0 else 0.0


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation coefficient of two images' voxel values."""
    if a.shape != b.shape:
        raise MathError(f"Images have different shapes: {a.shape} and {b.shape}")
    a64, b64 = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    if not (np.isfinite(a64).all() and np.isfinite(b64).all()):
        raise MathError("Correlation: the images contain NaN or Inf values")
    if a64.std() == 0 or b64.std() == 0:
        raise MathError("Correlation is undefined: one of the images is constant")
    return float(np.corrcoef(a64, b64)[0, 1])


# ------------------------------------------------------------------ on images
ARITHMETIC_OPS = ("add", "sub", "mul", "div")
SIMILARITY_OPS = ("mi", "minorm", "corr")


def similarity(img1, img2, metric: str) -> float:
    """``mi``, ``minorm`` (normalized MI) or ``corr`` between two images on the same grid."""
    from spinalcordtoolbox.image import check_same_grid

    check_same_grid(img1, img2, names=("image", "second image"))
    if metric == "corr":
        return correlation(img1.data, img2.data)
    return mutual_information(img1.data, img2.data, normalized=(metric == "minorm"))


def apply_operation(img, op: str, value, percent=False, shape="ball", dim=None):
    """Apply one ``sct_maths`` operation to an Image; returns a new Image on the same grid.

    ``value`` is the operation's argument: list of numbers/Images for arithmetic, the axis
    letter for mean/rms/std, (lower, upper) for thr, a threshold for bin, sigmas (mm) for
    smooth/laplacian... ``percent``: thresholds are percentiles of the image values.
    """
    from spinalcordtoolbox.image import Image, check_same_grid, empty_like

    data = img.data
    if op in ARITHMETIC_OPS:
        operands = []
        for v in value:
            if isinstance(v, Image):
                check_same_grid(img, v, names=("input image", f"operand {os.path.basename(v.absolutepath or '')}"))
                if v.data.shape != data.shape and v.data.shape != data.shape[:3]:
                    raise MathError(f"Images have different shapes: {data.shape} (input) and "
                                    f"{v.data.shape} ({v.absolutepath})")
                operands.append(v.data)
            else:
                operands.append(v)
        out = arithmetic(data, op, operands)
    elif op in ("mean", "rms", "std"):
        out = reduce_along(data, op, value)
    elif op in ("bin", "thr", "uthr"):
        if op == "bin":
            out = binarize(data, percentile_value(data, value) if percent else value)
        else:
            lower, upper = value if op == "thr" else (None, value)
            if percent:
                lower = None if lower is None else percentile_value(data, lower)
                upper = None if upper is None else percentile_value(data, upper)
            out = threshold(data, lower, upper)
    elif op == "otsu":
        out = otsu(data, value)
    elif op == "adap":
        if len(value) != 2:
            raise MathError("-adap needs two values: block size and offset, e.g. 7,0")
        out = adaptive_threshold(_require_3d(img).data, int(value[0]), value[1])
    elif op in ("dilate", "erode"):
        out = morphology(data, op, shape, value, dim)
    elif op == "smooth":
        out = smooth(data, value, img.pixdim)
    elif op == "laplacian":
        out = laplacian(data, value, img.pixdim)
    elif op == "denoise":
        patch, block = parse_denoise(value)
        out = denoise_nlmeans(_require_3d(img).data, patch, block)
    elif op == "symmetrize":
        out = symmetrize(data, value)
    elif op == "type":
        out = data.copy()
    else:
        raise MathError(f"Unknown operation {op}")
    result = empty_like(img, np.ascontiguousarray(out))
    result.absolutepath = None
    return result


def _require_3d(img):
    return img.copy().require_3d("input image")
