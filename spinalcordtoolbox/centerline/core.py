"""Fit a smooth spinal-cord centerline through a segmentation or a label image.

Work happens on a copy reoriented to RPI (toolbox naming: x from right to left, y from
posterior to anterior, z from inferior to superior), where each axial slice is one z index.
The per-slice centre of mass (weighted by the voxel values, so soft segmentations work) is
fitted as x(z), y(z) in millimetres, so that smoothing behaves the same for any voxel size;
results are given back in voxel units of the RPI grid, one point per slice.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, zeros_like

logger = logging.getLogger(__name__)

ALGOS = ("polyfit", "bspline", "linear", "nurbs")
#: degree of the polynomial fit (as in the established toolbox)
POLY_DEGREE = 5


class CenterlineError(ImageError):
    """Raised when no centerline can be found (empty image, too few points...)."""


def slice_centers_of_mass(data: np.ndarray):
    """Centre of mass (x, y) of each axial slice of an RPI array that holds signal.

    Returns ``(z, x, y)`` arrays for the non-empty slices only. Weights are the voxel values
    (absolute), so partial-volume segmentations pull the centre by their fractions.
    """
    weights = np.abs(np.nan_to_num(np.asarray(data, dtype=float)))
    mass = weights.sum(axis=(0, 1))
    z = np.flatnonzero(mass > 0)
    if z.size == 0:
        raise CenterlineError("The segmentation/label image is empty: no centerline can be found")
    nx, ny = weights.shape[:2]
    sub = weights[:, :, z]
    x = np.tensordot(np.arange(nx), sub.sum(axis=1), axes=(0, 0)) / mass[z]
    y = np.tensordot(np.arange(ny), sub.sum(axis=0), axes=(0, 0)) / mass[z]
    return z.astype(float), x, y


def _cutoff_omega(smooth_mm):
    # ``smooth`` is the wavelength (mm) at which a sinusoidal wiggle of the cord is halved
    return 2 * math.pi / max(float(smooth_mm), 1e-6)


def solve_pentadiagonal_spd(a0, a1, a2, b):
    """Solve A x = b for a symmetric positive-definite pentadiagonal A (banded LDL^T, O(n)).

    ``a0`` main diagonal (n), ``a1`` first (n-1) and ``a2`` second (n-2) off-diagonals.
    """
    n = len(a0)
    d = np.zeros(n)
    l1 = np.zeros(n + 1)   # l1[i] = L[i, i-1]
    l2 = np.zeros(n + 2)   # l2[i] = L[i, i-2]
    a0, a1, a2 = (np.asarray(a, float).tolist() for a in (a0, a1, a2))
    for i in range(n):
        di = a0[i]
        if i >= 1:
            di -= l1[i] * l1[i] * d[i - 1]
        if i >= 2:
            di -= l2[i] * l2[i] * d[i - 2]
        d[i] = di
        if i + 1 < n:
            num = a1[i] - (l2[i + 1] * l1[i] * d[i - 1] if i >= 1 else 0.0)
            l1[i + 1] = num / di
        if i + 2 < n:
            l2[i + 2] = a2[i] / di
    y = np.asarray(b, float).tolist()
    for i in range(n):
        if i >= 1:
            y[i] -= l1[i] * y[i - 1]
        if i >= 2:
            y[i] -= l2[i] * y[i - 2]
    x = [y[i] / d[i] for i in range(n)]
    for i in range(n - 1, -1, -1):
        if i + 1 < n:
            x[i] -= l1[i + 1] * x[i + 1]
        if i + 2 < n:
            x[i] -= l2[i + 2] * x[i + 2]
    return np.array(x)


def penalized_smooth(values, weights, lam):
    """Whittaker smoother: argmin_f sum w (v - f)^2 + lam * sum (second difference of f)^2.

    The discrete counterpart of the cubic smoothing spline on a uniform grid: straight lines
    pass unchanged, gaps (weight 0) are bridged smoothly and ends extrapolate linearly.
    Its transfer function is 1 / (1 + lam * (2 - 2 cos w)^2) for w in radians per sample.
    """
    n = len(values)
    # D^T D for second differences, as three diagonals
    a0 = np.full(n, 6.0)
    a0[[0, -1]] = 1.0
    a0[[1, -2]] = 5.0
    a1 = np.full(n - 1, -4.0)
    a1[[0, -1]] = -2.0
    a2 = np.ones(n - 2)
    return solve_pentadiagonal_spd(weights + lam * a0, lam * a1, lam * a2, weights * values)


def _fit_1d(z_mm, v_mm, zref_mm, algo, smooth_mm, dz_mm):
    """Fit v(z) on points (z_mm, v_mm), evaluate value and dv/dz at ``zref_mm``."""
    n = len(z_mm)
    if n == 1:
        return np.full_like(zref_mm, v_mm[0]), np.zeros_like(zref_mm)
    if algo == "polyfit" or (algo in ("bspline", "nurbs") and n < 5):
        deg = min(POLY_DEGREE if algo == "polyfit" else 3, n - 1)
        # centre z for numerical conditioning of the Vandermonde matrix
        zc = z_mm.mean()
        coefs = np.polyfit(z_mm - zc, v_mm, deg)
        return np.polyval(coefs, zref_mm - zc), np.polyval(np.polyder(coefs), zref_mm - zc)
    if algo == "bspline":
        # Smoothing spline on the slice grid (Whittaker smoother, see penalized_smooth), with
        # lam chosen so that a wiggle of wavelength ``smooth`` mm is halved. Pure numpy, O(n):
        # no scipy.interpolate import at start-up.
        kz, kref = z_mm / dz_mm, zref_mm / dz_mm
        if np.allclose(kz, np.rint(kz)) and np.allclose(kref, np.rint(kref)):
            lo = int(np.rint(min(kz.min(), kref.min())))
            hi = int(np.rint(max(kz.max(), kref.max())))
            w = np.zeros(hi - lo + 1)
            vals = np.zeros(hi - lo + 1)
            w[np.rint(kz).astype(int) - lo] = 1.0
            vals[np.rint(kz).astype(int) - lo] = v_mm
            omega = min(_cutoff_omega(smooth_mm) * dz_mm, math.pi)
            lam = 1.0 / (2 - 2 * math.cos(omega)) ** 2
            f = penalized_smooth(vals, w, lam)
            der = np.gradient(f, dz_mm) if len(f) > 1 else np.zeros_like(f)
            idx = np.rint(kref).astype(int) - lo
            return f[idx], der[idx]
        from scipy import interpolate  # off-grid points: continuous smoothing spline

        lam = (1.0 / _cutoff_omega(smooth_mm)) ** 4 / dz_mm
        spl = interpolate.make_smoothing_spline(z_mm, v_mm, lam=lam)
        return spl(zref_mm), spl.derivative()(zref_mm)
    if algo == "linear":
        from scipy.ndimage import gaussian_filter1d

        vals = np.interp(zref_mm, z_mm, v_mm)
        if smooth_mm > 0 and len(zref_mm) > 1:
            # Gaussian with gain 1/2 at the same cutoff wavelength as bspline
            sigma_mm = math.sqrt(2 * math.log(2)) / _cutoff_omega(smooth_mm)
            step = np.median(np.diff(zref_mm))
            sigma = sigma_mm / step
            # odd reflection at the ends keeps straight segments straight up to the edges
            pad = min(len(vals) - 1, int(math.ceil(4 * sigma)))
            padded = np.pad(vals, pad, mode="reflect", reflect_type="odd")
            vals = gaussian_filter1d(padded, sigma, mode="nearest")[pad:len(padded) - pad]
        der = np.gradient(vals, zref_mm) if len(zref_mm) > 1 else np.zeros_like(vals)
        return vals, der
    if algo == "nurbs":
        from scipy import interpolate

        # Non-rational B-spline least-squares fit with one knot every ``smooth`` mm: fewer
        # degrees of freedom than points, so the curve cannot follow voxel-level jitter.
        k = 3
        span = z_mm[-1] - z_mm[0]
        n_inner = int(max(0, min(n - k - 1, math.floor(span / max(smooth_mm, dz_mm)) - 1)))
        inner = np.linspace(z_mm[0], z_mm[-1], n_inner + 2)[1:-1]
        t = np.r_[[z_mm[0]] * (k + 1), inner, [z_mm[-1]] * (k + 1)]
        try:
            spl = interpolate.make_lsq_spline(z_mm, v_mm, t, k=k)
        except (ValueError, np.linalg.LinAlgError):
            return _fit_1d(z_mm, v_mm, zref_mm, "polyfit", smooth_mm, dz_mm)
        zq = np.clip(zref_mm, z_mm[0], z_mm[-1])
        # linear extrapolation outside the data range (minmax=False)
        vals = spl(zq) + spl.derivative()(zq) * (zref_mm - zq)
        return vals, spl.derivative()(zq)
    raise ValueError(f"Unknown centerline algorithm '{algo}'")


def fit_centerline_points(z, x, y, pixdim, zref, algo="bspline", smooth=30):
    """Fit x(z), y(z) (voxel coordinates) and evaluate at ``zref`` slices.

    Fitting is done in millimetres (coordinates times ``pixdim``) so that ``smooth`` (mm)
    means the same thing for any voxel size. Returns ``(arr_ctl, arr_ctl_der)`` in voxel
    units: rows x, y, z and dx/dz, dy/dz, dz/dz.
    """
    if algo not in ALGOS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("centerline algorithm", algo, ALGOS)
    px, py, pz = (float(p) for p in pixdim[:3])
    order = np.argsort(z)
    z, x, y = (np.asarray(a, float)[order] for a in (z, x, y))
    # several points on one slice (labels): average them
    zu, inv = np.unique(z, return_inverse=True)
    xu = np.bincount(inv, weights=x) / np.bincount(inv)
    yu = np.bincount(inv, weights=y) / np.bincount(inv)
    zref = np.asarray(zref, float)
    xf, dxf = _fit_1d(zu * pz, xu * px, zref * pz, algo, smooth, pz)
    yf, dyf = _fit_1d(zu * pz, yu * py, zref * pz, algo, smooth, pz)
    arr_ctl = np.vstack([xf / px, yf / py, zref])
    # d(x_vox)/d(z_vox) = (dx_mm/dz_mm) * pz / px
    arr_ctl_der = np.vstack([dxf * pz / px, dyf * pz / py, np.ones_like(zref)])
    return arr_ctl, arr_ctl_der


def get_centerline(im_seg: Image, algo="bspline", smooth=30, minmax=True):
    """Centerline of a segmentation (binary or soft) or of a label image, in any orientation.

    Parameters
    ----------
    im_seg : Image (3-D)
    algo : "polyfit" (degree-5 polynomial), "bspline" (smoothing spline: penalised second
        differences on the slice grid, the discrete cubic smoothing spline),
        "linear" (piecewise linear + Gaussian smoothing), "nurbs" (least-squares B-spline).
    smooth : float, mm. Wiggles of the cord shorter than this wavelength are halved or
        more (bspline, linear); knot spacing for nurbs; unused by polyfit.
    minmax : if True, the centerline spans the slices of the segmentation only; otherwise
        every slice of the image (the fit is extrapolated).

    Returns
    -------
    im_centerline : binary Image, one voxel per axial slice, input grid and orientation.
    arr_ctl : (3, N) fitted x, y, z voxel coordinates in the RPI-reoriented grid.
    arr_ctl_der : (3, N) dx/dz, dy/dz, dz/dz in voxel units.
    fit_results : dict: ``rmse`` (mm, in-plane distance between the per-slice centres of
        mass and the fit), ``laplacian_max`` (mm^-1, largest |d2v/dz2|), ``algo``, ``smooth``,
        ``data_points`` (3, M) the per-slice centres of mass, ``phys_coords`` (N, 3) world
        RAS mm of the fitted points, ``phys_tangent`` (N, 3) unit world direction.
    """
    orig_orientation = im_seg.orientation
    im = im_seg.copy().require_3d("segmentation").change_orientation("RPI")
    z, x, y = slice_centers_of_mass(im.data)
    nz = im.data.shape[2]
    zref = np.arange(int(z.min()), int(z.max()) + 1) if minmax else np.arange(nz)
    arr_ctl, arr_ctl_der = fit_centerline_points(z, x, y, im.pixdim, zref, algo=algo, smooth=smooth)

    # fit quality (mm)
    px, py, pz = im.pixdim
    idx = np.searchsorted(zref, z)
    ok = (idx < len(zref)) & (zref[np.minimum(idx, len(zref) - 1)] == z)
    dist = np.hypot((arr_ctl[0, idx[ok]] - x[ok]) * px, (arr_ctl[1, idx[ok]] - y[ok]) * py)
    rmse = float(np.sqrt(np.mean(dist ** 2))) if dist.size else 0.0
    if arr_ctl.shape[1] >= 3:
        d2x = np.gradient(arr_ctl_der[0] * px / pz, zref * pz)
        d2y = np.gradient(arr_ctl_der[1] * py / pz, zref * pz)
        lap = float(np.max(np.hypot(d2x, d2y)))
    else:
        lap = 0.0
    phys = im.transfo_pix2phys(arr_ctl.T)
    tangent = arr_ctl_der.T @ im.affine[:3, :3].T
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    fit_results = {"algo": algo, "smooth": smooth, "rmse": rmse, "laplacian_max": lap,
                   "data_points": np.vstack([x, y, z]), "phys_coords": phys,
                   "phys_tangent": tangent}

    im_ctl = zeros_like(im, dtype=np.uint8)
    xi = np.clip(np.rint(arr_ctl[0]).astype(int), 0, im.data.shape[0] - 1)
    yi = np.clip(np.rint(arr_ctl[1]).astype(int), 0, im.data.shape[1] - 1)
    im_ctl.data[xi, yi, zref.astype(int)] = 1
    im_ctl.hdr.set_data_dtype(np.uint8)
    im_ctl.change_orientation(orig_orientation)
    im_ctl.absolutepath = None
    logger.debug("Centerline fit (%s, smooth=%s mm): rmse=%.3f mm", algo, smooth, rmse)
    return im_ctl, arr_ctl, arr_ctl_der, fit_results


def centerline_length_per_slice(arr_ctl_der, pixdim):
    """Length (mm) of the centerline within each slice: pz * sqrt(1 + (dx/dz)^2 + (dy/dz)^2) in mm."""
    px, py, pz = pixdim[:3]
    return pz * np.sqrt(1 + (arr_ctl_der[0] * px / pz) ** 2 + (arr_ctl_der[1] * py / pz) ** 2)


def save_centerline_csv(arr_ctl, path):
    """Write x, y, z (RPI voxel coordinates) one slice per row, as the toolbox does."""
    import io

    from spinalcordtoolbox.utils.fs import atomic_write_text

    buf = io.StringIO()
    np.savetxt(buf, arr_ctl.T, delimiter=",", fmt="%.18e")
    atomic_write_text(path, buf.getvalue())
    return path
