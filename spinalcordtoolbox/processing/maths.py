"""Voxel-wise and neighbourhood operations on image arrays (the engine of ``sct_maths``).

Every function takes and returns numpy arrays (plus voxel sizes in mm where a size in mm
is converted to voxels), so that it can be checked against numpy/scipy directly. Heavy
libraries (scikit-image, dipy) are imported inside the functions that use them.

Named ``maths`` rather than ``math`` so that it can never shadow the standard library.
"""
from __future__ import annotations

import logging
import os

import numpy as np

logger = logging.getLogger(__name__)

AXES = {"x": 0, "y": 1, "z": 2, "t": 3}
SHAPES = ("ball", "cube", "disk", "square")


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

    Integer data and operands are computed in float64, so that nothing wraps (uint8 0 - 1 is
    -1). Non-finite values: NaN/Inf already in the inputs propagate as numpy does; voxels that
    the operation itself makes undefined (x/0) are inf/nan as numpy gives them (never hidden
    by a replacement value) and counted in a warning; when no voxel of the result is
    defined (e.g. ``-div 0``), it is an error and nothing is written.
    """
    funcs = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}
    if op not in funcs:
        raise MathError(f"Unknown arithmetic operation {op}")
    if not operands:
        raise MathError(f"-{op} needs at least one number or image")
    result = data.astype(np.float64) if data.dtype.kind in "iub" else data
    for operand in operands:
        operand = _check_operand(data, operand)
        if not np.isscalar(operand) and operand.dtype.kind in "iub":
            operand = operand.astype(np.float64)
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


def otsu_median(data: np.ndarray, size: int, n_iter: int) -> np.ndarray:
    """Brain/body mask of dipy's ``median_otsu``: median filter (radius ``size``, ``n_iter`` passes)
    then Otsu threshold."""
    from dipy.segment.mask import median_otsu

    if size < 1 or n_iter < 1:
        raise MathError("-otsu-median needs a filter radius >= 1 and a number of passes >= 1, e.g. 3,5")
    _, mask = median_otsu(np.asarray(data, dtype=np.float64), median_radius=size, numpass=n_iter)
    return mask.astype(np.uint8)


# ------------------------------------------------------------------ morphology
def footprint(shape: str, size: int, dim: int | None = None, ndim: int = 3) -> np.ndarray:
    """Structuring element: ball/disk of radius ``size`` voxels, cube/square of side ``size`` voxels.

    A disk or square lies in the plane perpendicular to axis ``dim`` (default 2: axial).
    """
    if shape not in SHAPES:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("shape", shape, SHAPES)
    if size < 0 or (shape in ("cube", "square") and size < 1):
        raise MathError(f"Invalid structuring element size {size}")
    if shape == "cube":
        return np.ones((size,) * ndim, dtype=bool)
    if shape == "square":
        # the 2-D cube: a size x size square in the plane perpendicular to ``dim``
        side = [size] * 3
        side[2 if dim is None else dim] = 1
        return np.ones(side, dtype=bool)
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


def noise_sigma(data: np.ndarray, below=None) -> float:
    """Noise standard deviation: of the values below ``below`` (the established
    sct_denoising_onlm's -d rule, background voxels), else dipy's estimate_sigma."""
    values = np.asarray(data, dtype=np.float64)
    if below is not None:
        background = values[values < below]
        if background.size >= 10:
            return float(background.std())
        logger.warning("Fewer than 10 voxels below %g: noise estimated by dipy instead", below)
    from dipy.denoise.noise_estimate import estimate_sigma

    sigma = estimate_sigma(values, N=0)
    return float(np.atleast_1d(sigma)[0])


def denoise_nlmeans(data: np.ndarray, patch_radius=1, block_radius=5, sigma=None, rician=True) -> np.ndarray:
    """Non-local means denoising (dipy); ``sigma`` None: estimated by dipy's estimate_sigma.

    The block radius is lowered to fit images smaller than the block (dipy needs it).
    """
    from dipy.denoise.nlmeans import nlmeans

    values = data.astype(np.float64)
    if sigma is None:
        sigma = noise_sigma(values)
    block_radius = max(1, min(block_radius, (min(values.shape[:3]) - 1) // 2))
    # one thread: dipy's multithreaded blockwise nlmeans gives different results run to run
    return nlmeans(values, sigma=float(sigma), patch_radius=patch_radius, block_radius=block_radius,
                   rician=rician, num_threads=1)


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
    The data type is numpy's result of the operation (see :func:`run_chain` for the rule
    applied to saved outputs).
    """
    from spinalcordtoolbox.image import empty_like

    _check_operand_grids(img, [(op, value)])
    out = _apply_array(img.data, op, value, img.pixdim, percent=percent, shape=shape, dim=dim)
    result = empty_like(img, np.ascontiguousarray(out))
    result.absolutepath = None
    return result


def _check_operand_grids(img, steps):
    """Image operands of arithmetic steps must be on the input's voxel grid (never resampled)."""
    from spinalcordtoolbox.image import Image, check_same_grid

    for op, value in steps:
        if op not in ARITHMETIC_OPS:
            continue
        for v in value or ():
            if isinstance(v, Image):
                check_same_grid(img, v, names=("input image",
                                               f"operand {os.path.basename(v.absolutepath or '')}"))


def _operand_data(value):
    """Arrays of the Image operands (shapes are checked by :func:`_check_operand`)."""
    from spinalcordtoolbox.image import Image

    return [v.data if isinstance(v, Image) else v for v in value]


def _apply_array(data, op: str, value, pixdim, percent=False, shape="ball", dim=None):
    if op in ARITHMETIC_OPS:
        if not value and op in ("add", "mul"):
            # the established tool's shorthand: -add / -mul without operand reduce a 4-D image along t
            if data.ndim != 4:
                raise MathError(f"-{op} without a number or image needs a 4-D input (it {op}s its volumes)")
            return (np.sum if op == "add" else np.prod)(data.astype(np.float64), axis=3)
        return arithmetic(data, op, _operand_data(value))
    if op in ("mean", "rms", "std"):
        return reduce_along(data, op, value)
    if op == "bin":
        return binarize(data, percentile_value(data, value) if percent else value)
    if op in ("thr", "uthr"):
        lower, upper = value if op == "thr" and isinstance(value, tuple) else (
            (value, None) if op == "thr" else (None, value))
        if percent:
            lower = None if lower is None else percentile_value(data, lower)
            upper = None if upper is None else percentile_value(data, upper)
        return threshold(data, lower, upper)
    if op == "percent":
        return binarize(data, percentile_value(data, value))
    if op == "otsu":
        return otsu(data, value)
    if op == "otsu_median":
        if len(value) != 2:
            raise MathError("-otsu-median needs two values: filter radius and passes, e.g. 3,5")
        return otsu_median(_squeeze_3d(data), int(value[0]), int(value[1]))
    if op == "adap":
        if len(value) != 2:
            raise MathError("-adap needs two values: block size and offset, e.g. 7,0")
        return adaptive_threshold(_squeeze_3d(data), int(value[0]), value[1])
    if op in ("dilate", "erode"):
        return morphology(data, op, shape, value, dim)
    if op == "smooth":
        return smooth(data, value, pixdim)
    if op == "laplacian":
        return laplacian(data, value, pixdim)
    if op == "denoise":
        patch, block = parse_denoise(value)
        return denoise_nlmeans(_squeeze_3d(data), patch, block)
    if op == "symmetrize":
        return symmetrize(data, value)
    if op == "type":
        return data.copy()
    raise MathError(f"Unknown operation {op}")


def _squeeze_3d(data):
    if data.ndim > 3 and all(s == 1 for s in data.shape[3:]):
        data = data.reshape(data.shape[:3])
    if data.ndim != 3:
        raise MathError(f"The input image must be 3-D, got a {data.ndim}-D image {data.shape} "
                        "(use -volumewise 1 to process each volume of a 4-D image)")
    return data


# ------------------------------------------------------------ chains and output types
MASK_OPS = ("bin", "percent", "otsu", "otsu_median", "adap")
FLOAT_OPS = ("div", "mean", "rms", "std", "smooth", "laplacian", "denoise", "symmetrize")
#: integer types tried, in order, when a result does not fit its nominal type (int64 is
#: avoided: several NIfTI readers refuse it)
_WIDER = (np.uint8, np.int16, np.uint16, np.int32)


def _is_integer_operand(v) -> bool:
    from spinalcordtoolbox.image import Image

    if isinstance(v, Image):
        return v.data.dtype.kind in "iub"
    return float(v).is_integer()


def nominal_dtype(in_dtype, steps) -> np.dtype:
    """The output type a chain of operations gives, before looking at the values.

    The established toolbox's convention, written as one rule:
    - masks (-bin, -percent, -otsu, -otsu-median, -adap) are uint8;
    - -div and the statistics/filters (-mean, -rms, -std, -smooth, -laplacian, -denoise,
      -symmetrize) give float64 on integer data (a float input keeps its float type);
    - -add/-sub/-mul of integers stay integer with numpy's promotion of the operands' types,
      and a subtraction from unsigned data goes signed (uint8 - uint8 -> int16, uint16 -> int32)
      so that negative results are kept;
    - a non-integer number (-add 0.5) makes the result float64;
    - -thr/-uthr, -dilate/-erode keep the type.
    """
    from spinalcordtoolbox.image import Image

    dt = np.dtype(in_dtype)
    if dt.kind == "b":
        dt = np.dtype(np.uint8)
    for op, value in steps:
        if op in MASK_OPS:
            dt = np.dtype(np.uint8)
        elif op in FLOAT_OPS:
            dt = dt if dt.kind == "f" else np.dtype(np.float64)
        elif op in ARITHMETIC_OPS:
            if dt.kind == "f":
                continue
            if not all(_is_integer_operand(v) for v in value):
                dt = np.dtype(np.float64)
                continue
            for v in value:
                if isinstance(v, Image):
                    dt = np.promote_types(dt, v.data.dtype if v.data.dtype.kind != "b" else np.uint8)
            if op == "sub" and dt.kind == "u":
                dt = np.promote_types(dt, np.int8)
            if not value and op == "add":   # sum of the volumes of a 4-D image
                dt = np.promote_types(dt, np.int32)
    if dt == np.int64 or dt == np.uint64 or dt == np.uint32:
        dt = np.dtype(np.float64)
    return dt


def fit_dtype(data: np.ndarray, dtype) -> np.ndarray:
    """Cast ``data`` to ``dtype``, widening the integer type if the values do not fit.

    Never wraps, clips or rounds silently: non-integer values or a range no listed integer
    type holds give float64, and any widening is logged.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return data.astype(dtype, copy=False)
    finite = np.isfinite(data) if data.dtype.kind == "f" else None
    if finite is not None and (not finite.all() or not np.all(np.mod(data, 1) == 0)):
        logger.info("The result holds non-integer values: saved as float64 instead of %s", dtype.name)
        return data.astype(np.float64)
    lo, hi = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    candidates = [dtype] + [np.dtype(t) for t in _WIDER if np.can_cast(dtype, t)]
    for cand in candidates:
        info = np.iinfo(cand)
        if info.min <= lo and hi <= info.max:
            if cand != dtype:
                logger.info("Values in [%g, %g] do not fit in %s: saved as %s", lo, hi, dtype.name, cand.name)
            return data.astype(cand)
    logger.info("Values in [%g, %g] do not fit in an integer type: saved as float64", lo, hi)
    return data.astype(np.float64)


def run_chain(img, steps, shape="ball", dim=None, percent=False, volumewise=False, dtype=None):
    """Apply ``steps`` = [(operation, value), ...] to an Image in the order given.

    Arithmetic is done in float64 (uint8 0 - 1 is -1, never 255). The result's type follows
    :func:`nominal_dtype`, widened by :func:`fit_dtype` if the values need it; ``dtype``
    forces a type (refused if the values do not fit). ``volumewise``: a 4-D image is split
    into its 3-D volumes, each processed alone, and the results stacked back along t.
    ``percent``: -bin/-thr/-uthr values are percentiles of the current image values.
    Returns a new Image on the input's grid (3-D when the chain reduces t).
    """
    from spinalcordtoolbox.image import empty_like

    if not steps:
        raise MathError("No operation given (see -h)")
    for op, _ in steps[:-1]:
        if op in SIMILARITY_OPS:
            raise MathError(f"-{op}: a similarity metric can only be the last operation")
    _check_operand_grids(img, steps)
    data = img.data
    if volumewise:
        if data.ndim != 4:
            raise MathError("-volumewise 1 needs a 4-D input image")
        volumes = [data[..., t] for t in range(data.shape[3])]
    else:
        volumes = [data]
    outs = []
    for vol in volumes:
        cur = vol.astype(np.float64) if vol.dtype.kind in "iub" else vol
        for op, value in steps:
            cur = _apply_array(cur, op, value, img.pixdim, percent=percent, shape=shape, dim=dim)
            if cur.dtype.kind in "iub":   # masks: later arithmetic must not wrap either
                cur = cur.astype(np.float64)
        outs.append(np.asarray(cur))
    out = np.stack(outs, axis=3) if volumewise else outs[0]
    nominal = nominal_dtype(img.data.dtype, steps)
    result = empty_like(img, np.ascontiguousarray(fit_dtype(out, nominal)))
    result.absolutepath = None
    if dtype:
        result.change_type(dtype)
    return result
