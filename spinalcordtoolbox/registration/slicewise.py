"""Cord-specific slice-by-slice registration algorithms.

All work on images already resampled onto the destination grid reoriented to RPI, so that
axial slices are ``data[:, :, z]``. Each returns a pair of displacement fields (forward: a
destination point -> the source point; inverse: the reverse), in ITK LPS mm on that grid.
Deformations are in-plane only (no displacement along z), as the toolbox does.

* ``slicereg``: one translation per slice maximising the image similarity, then a polynomial
  of degree ``poly`` fitted along z regularises the translations.
* ``centermass``: per-slice translation aligning the centres of mass of the segmentations.
* ``centermassrot``: the same plus an in-plane rotation. ``rot_method=pca`` aligns the
  principal axes of the segmentations; rotations whose axes are ill-defined (eigenvalue ratio
  below ``pca_eigenratio_th``, i.e. a round cord) are interpolated from the other slices (0 if
  none). ``rot_method=hog`` aligns the symmetry axes of the images around the cord, found from
  their histograms of oriented gradients (Rouhier et al.); ``pcahog`` uses PCA on elongated
  sections and HOG on round ones.
* ``columnwise``: per-slice piecewise-linear stretching of each row then each column so that
  the source segmentation's extent matches the destination's (large in-plane deformations of
  compressed cords), smoothed in-plane with ``smoothWarpXY``.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.registration.warp import displacement_from_voxel_shifts
from spinalcordtoolbox.utils.cli import SCTError

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------ metrics
def _metric_value(a, b, metric, weights=None):
    """Cost to minimise between two equally-shaped arrays (optionally weighted/masked)."""
    if weights is not None:
        keep = weights > 0
        a, b = a[keep], b[keep]
    if a.size < 4:
        return 0.0
    if metric == "MeanSquares":
        return float(np.mean((a - b) ** 2))
    if metric == "CC":
        a = a - a.mean()
        b = b - b.mean()
        denom = np.sqrt(np.sum(a * a) * np.sum(b * b))
        return -float(np.sum(a * b) / denom) if denom > 0 else 0.0
    # MI: joint histogram with 32 bins
    hist, _, _ = np.histogram2d(a, b, bins=32)
    p = hist / hist.sum()
    px = p.sum(axis=1, keepdims=True)
    py = p.sum(axis=0, keepdims=True)
    nz = p > 0
    return -float(np.sum(p[nz] * np.log(p[nz] / (px @ py)[nz])))


# ------------------------------------------------------------------ field helpers
def _fields_from_slice_maps(ref: Image, fwd_vox: np.ndarray, inv_vox: np.ndarray):
    """Voxel-unit in-plane shifts (nx, ny, nz, 2) -> (forward, inverse) LPS displacement fields."""
    def to_field(shifts2):
        shifts = np.zeros(shifts2.shape[:3] + (3,))
        shifts[..., :2] = shifts2
        return displacement_from_voxel_shifts(ref, shifts).astype(np.float32)
    return to_field(fwd_vox), to_field(inv_vox)


def _fill_missing(values: np.ndarray, valid: np.ndarray, what: str) -> np.ndarray:
    """Fill slices without an estimate by linear interpolation (constant beyond the ends)."""
    if not valid.any():
        raise SCTError(f"No slice with {what}: cannot register")
    z = np.arange(len(values))
    out = values.copy()
    for c in range(values.shape[1]):
        out[:, c] = np.interp(z, z[valid], values[valid, c])
    return out


def _translation_maps(shape, shifts):
    """Per-slice constant shifts (nz, 2) -> forward and exact inverse maps (nx, ny, nz, 2)."""
    fwd = np.broadcast_to(shifts[None, None, :, :], tuple(shape[:3]) + (2,)).copy()
    return fwd, -fwd


# ------------------------------------------------------------------ slicereg
def _jumps(raw, valid, min_vox=2.0, n_mad=4.0):
    """Slices whose translation is an outlier among the valid ones (farther from their median
    than ``n_mad`` scaled MADs and than ``min_vox`` voxels): the polynomial would pass through
    them (5 slices, degree 4) and move that slice alone by several mm."""
    out = np.zeros(len(raw), dtype=bool)
    if valid.sum() < 3:
        return out
    med = np.median(raw[valid], axis=0)
    mad = 1.4826 * np.median(np.abs(raw[valid] - med), axis=0)
    dev = np.abs(raw - med)
    out[valid] = np.any(dev[valid] > np.maximum(min_vox, n_mad * mad), axis=1)
    if out.any():
        logger.info("slicereg: slice(s) %s jump away from the others, interpolated",
                    np.flatnonzero(out).tolist())
    return out


def slicereg(src: Image, dest: Image, metric="MeanSquares", poly=5, mask=None, search_vox=5,
             grid_step=1.0, fields=True, min_coverage=0.6):
    """Slice-wise translations regularised along z by a polynomial of degree ``poly``.

    Each slice's translation is searched on a grid of ``grid_step`` voxels within
    +-``search_vox``, then refined continuously. ``mask`` (values > 0) restricts the metric.
    Slices where the source covers less than ``min_coverage`` of the compared region, and
    slices whose translation jumps away from the others, are filled from the other slices.

    Returns (forward field, inverse field, translations (nz, 2) in voxels before the fit,
    regularised translations (nz, 2) in voxels); the fields are None when not ``fields``
    (callers that only need the translations, e.g. motion correction, skip building them).
    """
    from scipy.ndimage import map_coordinates
    from scipy.optimize import minimize

    s, d = src.data.astype(float), dest.data.astype(float)
    nz = d.shape[2]
    w = None if mask is None else mask.data.astype(float)
    raw = np.zeros((nz, 2))
    valid = np.zeros(nz, dtype=bool)
    # exclude the outer rim, where shifted samples repeat the edge
    rim = np.zeros(d.shape[:2])
    rim[search_vox:-search_vox or None, search_vox:-search_vox or None] = 1
    for z in range(nz):
        wz = rim if w is None else w[:, :, z] * rim
        if wz.sum() < 4 or np.ptp(d[:, :, z][wz > 0]) == 0:
            continue
        # a source slice that is (mostly) outside the source's field of view (zeros once
        # resampled onto the destination grid) gives no estimate: it is filled from the others
        if np.mean(s[:, :, z][wz > 0] != 0) < min_coverage:
            logger.info("slicereg: slice %d is outside the source's coverage, interpolated", z)
            continue

        # the metric only sees the pixels where wz > 0: sample the source there only
        # (same values as shifting the whole slice, several times faster with a small mask)
        pi, pj = np.nonzero(wz > 0)
        pi, pj, dz = pi.astype(float), pj.astype(float), d[:, :, z][wz > 0]

        def cost(t, sz=s[:, :, z], pi=pi, pj=pj, dz=dz):
            moved = map_coordinates(sz, [pi + t[0], pj + t[1]], order=1, mode="nearest")
            return _metric_value(moved, dz, metric)

        pad = int(np.ceil(search_vox))
        # edge padding = map_coordinates' mode "nearest"
        padded = np.pad(s[:, :, z], pad, mode="edge")

        def cost_on_grid(t, pi=pi.astype(int) + pad, pj=pj.astype(int) + pad, dz=dz):
            # integer shifts: plain indexing gives what linear interpolation would, much faster
            ti, tj = int(t[0]), int(t[1])
            if ti != t[0] or tj != t[1]:
                return cost(t)
            return _metric_value(padded[pi + ti, pj + tj], dz, metric)

        # coarse search on a grid (robust to local minima), then continuous refinement
        steps = np.arange(-search_vox, search_vox + 1e-9, grid_step)
        grid = [(a, b) for a in steps for b in steps]
        best = min(grid, key=cost_on_grid)
        # bounded to the searched window: beyond it, repeated edge samples can look "better"
        res = minimize(cost, np.array(best, dtype=float), method="Powell",
                       bounds=[(-search_vox, search_vox)] * 2, options={"xtol": 1e-3, "ftol": 1e-6})
        raw[z] = res.x
        valid[z] = True
    valid &= ~_jumps(raw, valid)
    raw = _fill_missing(raw, valid, "image content")
    reg = _polyfit_z(raw, poly)
    if not fields:
        return None, None, raw, reg
    fwd, inv = _translation_maps(d.shape, reg)
    ffwd, finv = _fields_from_slice_maps(dest, fwd, inv)
    return ffwd, finv, raw, reg


def shift_slices(data: np.ndarray, shifts: np.ndarray, order=1) -> np.ndarray:
    """Apply per-slice translations (nz, 2) in voxels to a 3-D array: output slice z samples the
    input at (i + shifts[z, 0], j + shifts[z, 1]) (the convention of :func:`slicereg`'s
    regularised translations), with spline ``order`` (0 nearest, 1 linear, 3 cubic); samples
    outside the field of view are 0."""
    from scipy.ndimage import map_coordinates

    nx, ny, nz = data.shape
    ii, jj = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float), indexing="ij")
    out = np.empty(data.shape, dtype=np.float32)
    for z in range(nz):
        out[:, :, z] = map_coordinates(data[:, :, z].astype(np.float64), [ii + shifts[z, 0], jj + shifts[z, 1]],
                                       order=order, mode="constant", cval=0.0)
    return out


def _polyfit_z(values, poly):
    nz = len(values)
    if poly <= 0 or nz < 2:
        return np.repeat(values.mean(axis=0, keepdims=True), nz, axis=0) if poly == 0 else values
    deg = min(int(poly), nz - 1)
    z = np.arange(nz)
    return np.stack([np.polyval(np.polyfit(z, values[:, c], deg), z) for c in range(values.shape[1])], 1)


# ------------------------------------------------------------------ centermass(rot)
def _slice_geometry(seg2d, pixdim):
    """Centre of mass (voxels) and principal-axis angle (rad, in mm space) of a slice mask."""
    ij = np.argwhere(seg2d > 0.5) if seg2d.max() > 0.5 else np.argwhere(seg2d > 0)
    if len(ij) == 0:
        return None, None, None
    weights = seg2d[tuple(ij.T)].astype(float)
    com = (ij * weights[:, None]).sum(0) / weights.sum()
    if len(ij) < 3:
        return com, 0.0, 1.0
    xy = (ij - com) * np.asarray(pixdim[:2])
    cov = np.cov(xy.T, aweights=weights)
    evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, 1]
    angle = np.arctan2(major[1], major[0])
    ratio = evals[1] / evals[0] if evals[0] > 0 else np.inf
    return com, angle, ratio


def hog_angle(image2d, com, pixdim, sigma_mm=10.0, n_bins=360, max_angle=np.deg2rad(40.0)):
    """Angle (rad, in mm space, same convention as the PCA axis) of the in-plane symmetry axis
    of ``image2d`` around ``com`` (voxels), searched within +-``max_angle`` of the x axis.

    Histogram of the gradient orientations, weighted by the gradient magnitude and by a
    Gaussian of ``sigma_mm`` centred on the cord so that the cord and its surroundings vote
    (Rouhier et al.). A mirror symmetry about the axis at angle t maps a gradient direction p
    to 2t - p, so the histogram h satisfies h(p) = h(2t - p); its circular self-convolution
    (h * h)(u) = sum_p h(p) h(u - p) is then largest at u = 2t (Cauchy-Schwarz). A section has
    two symmetry axes (t and t + 90 deg): the search range (40 deg, as in the established
    toolbox) keeps the one near the x axis (axial slices are roughly aligned with RL).
    Returns None when the neighbourhood of ``com`` has no gradient (flat slice).
    """
    from scipy.ndimage import gaussian_filter, gaussian_filter1d

    img = np.asarray(image2d, dtype=float)
    px, py = float(pixdim[0]), float(pixdim[1])
    # derivatives of a 1-voxel Gaussian: more isotropic than finite differences and robust
    # to noise (analytic cord images: errors <= 0.2 deg at 1 mm pixels, <= 1 deg at 0.5 mm)
    gx = gaussian_filter(img, 1.0, order=(1, 0)) / px  # gradient per mm
    gy = gaussian_filter(img, 1.0, order=(0, 1)) / py
    ii, jj = np.meshgrid(np.arange(img.shape[0]), np.arange(img.shape[1]), indexing="ij")
    dist2 = ((ii - com[0]) * px) ** 2 + ((jj - com[1]) * py) ** 2
    votes = np.hypot(gx, gy) * np.exp(-dist2 / (2 * sigma_mm ** 2))
    if not votes.sum() > 0:
        return None
    hist, _ = np.histogram(np.arctan2(gy, gx), bins=n_bins, range=(-np.pi, np.pi), weights=votes)
    # a circular smoothing (3 deg) removes the comb left by the pixel grid's discrete directions
    hist = gaussian_filter1d(hist, sigma=3.0 * n_bins / 360, mode="wrap")
    conv = np.real(np.fft.ifft(np.fft.fft(hist) ** 2))
    # conv[m] sums bin pairs a + b = m (mod n); bin centres -pi + (k + 1/2) w add up to
    # u = (m + 1) w (mod 2 pi), and the axis is t = u / 2 (mod pi)
    width = 2 * np.pi / n_bins
    theta = ((np.arange(n_bins) + 1) * width / 2 + np.pi / 2) % np.pi - np.pi / 2
    allowed = np.abs(theta) <= max_angle
    m = int(np.flatnonzero(allowed)[np.argmax(conv[allowed])])
    # parabolic refinement of the peak between bins
    c0, c1, c2 = conv[m - 1], conv[m], conv[(m + 1) % n_bins]
    curvature = c0 - 2 * c1 + c2
    offset = 0.5 * (c0 - c2) / curvature if curvature < 0 else 0.0
    return float(theta[m] + offset * width / 2)


def centermass(src_seg: Image, dest_seg: Image, rotation=False, pca_eigenratio_th=1.6,
               rot_method="pca", filter_size=5, src_im: Image | None = None,
               dest_im: Image | None = None):
    """Align per-slice centres of mass (and in-plane orientations if ``rotation``) of two
    segmentations; ``rot_method`` hog/pcahog also need the images ``src_im``/``dest_im`` (on
    the segmentations' grids). Returns (forward field, inverse field, translations (nz, 2) in
    voxels, rotation angles (nz,) in rad)."""
    from scipy.ndimage import gaussian_filter1d

    if rotation and rot_method not in ("pca", "hog", "pcahog"):
        raise SCTError(f"rot_method={rot_method} is not one of pca, hog, pcahog")
    if rotation and rot_method != "pca" and (src_im is None or dest_im is None):
        raise SCTError(f"rot_method={rot_method} needs the source and destination images "
                       f"(type=imseg)")
    s, d = src_seg.data.astype(float), dest_seg.data.astype(float)
    if rotation and rot_method != "pca":
        si, di = src_im.data.astype(float), dest_im.data.astype(float)
        if si.shape != s.shape or di.shape != d.shape:
            raise SCTError("The images and segmentations given to centermassrot differ in size")
    nx, ny, nz = d.shape
    pix = dest_seg.pixdim
    com_s = np.zeros((nz, 2))
    com_d = np.zeros((nz, 2))
    angle = np.zeros(nz)
    valid = np.zeros(nz, dtype=bool)
    angle_ok = np.zeros(nz, dtype=bool)
    for z in range(nz):
        cs, a_s, r_s = _slice_geometry(s[:, :, z], pix)
        cd, a_d, r_d = _slice_geometry(d[:, :, z], pix)
        if cs is None or cd is None:
            continue
        com_s[z], com_d[z], valid[z] = cs, cd, True
        if not rotation:
            continue
        elongated = min(r_s, r_d) >= pca_eigenratio_th
        if rot_method == "hog" or (rot_method == "pcahog" and not elongated):
            a_s, a_d = hog_angle(si[:, :, z], cs, pix), hog_angle(di[:, :, z], cd, pix)
            found = a_s is not None and a_d is not None
        else:
            found = elongated
        if found:
            da = a_s - a_d
            da = (da + np.pi / 2) % np.pi - np.pi / 2  # axes have no direction
            angle[z], angle_ok[z] = da, True
    if not valid.any():
        raise SCTError("The source and destination segmentations share no axial slice: cannot "
                       "register with centermass (check -iseg/-dseg cover the same region)")
    com_s = _fill_missing(com_s, valid, "segmentation")
    com_d = _fill_missing(com_d, valid, "segmentation")
    if rotation:
        angle = _fill_missing(angle[:, None], angle_ok, "an elongated cord section")[:, 0] \
            if angle_ok.any() else np.zeros(nz)
        if filter_size and nz > 1:
            angle = gaussian_filter1d(angle, sigma=filter_size / 2.355, mode="nearest")

    ii, jj = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float), indexing="ij")
    fwd = np.zeros((nx, ny, nz, 2))
    inv = np.zeros((nx, ny, nz, 2))
    px, py = pix[0], pix[1]
    for z in range(nz):
        c, sn = np.cos(angle[z]), np.sin(angle[z])
        # forward: dest voxel x -> c_s + R(theta)(x - c_d), in mm so rotations are rigid
        dx, dy = (ii - com_d[z, 0]) * px, (jj - com_d[z, 1]) * py
        fx = com_s[z, 0] + (c * dx - sn * dy) / px
        fy = com_s[z, 1] + (sn * dx + c * dy) / py
        fwd[:, :, z, 0], fwd[:, :, z, 1] = fx - ii, fy - jj
        # inverse: source voxel y -> c_d + R(-theta)(y - c_s)
        ex, ey = (ii - com_s[z, 0]) * px, (jj - com_s[z, 1]) * py
        gx = com_d[z, 0] + (c * ex + sn * ey) / px
        gy = com_d[z, 1] + (-sn * ex + c * ey) / py
        inv[:, :, z, 0], inv[:, :, z, 1] = gx - ii, gy - jj
    ffwd, finv = _fields_from_slice_maps(dest_seg, fwd, inv)
    return ffwd, finv, com_s - com_d, angle


# ------------------------------------------------------------------ columnwise
def _extent_map(src_line, dest_line, n):
    """1-D piecewise-linear map of positions: dest segment [a, b] -> src segment [c, d]."""
    ds = np.flatnonzero(dest_line > 0.5)
    ss = np.flatnonzero(src_line > 0.5)
    x = np.arange(n, dtype=float)
    if len(ds) < 2 or len(ss) < 2:
        return None
    a, b = ds[0], ds[-1]
    c, d = ss[0], ss[-1]
    scale = (d - c) / (b - a) if b > a else 1.0
    # inside the dest extent: stretch; outside: shift with the nearest edge
    return np.where(x < a, x - a + c, np.where(x > b, x - b + d, c + (x - a) * scale))


def columnwise(src_seg: Image, dest_seg: Image, smooth_warp_xy=2.0):
    """Per-slice row-then-column stretching of the source segmentation onto the destination's."""
    from scipy.ndimage import gaussian_filter
    from spinalcordtoolbox.registration.warp import DisplacementField

    s, d = src_seg.data.astype(float), dest_seg.data.astype(float)
    nx, ny, nz = d.shape
    fwd = np.zeros((nx, ny, nz, 2))
    for z in range(nz):
        if s[:, :, z].max() <= 0.5 or d[:, :, z].max() <= 0.5:
            continue
        # 1) along x for each row j: map dest x-extent onto the (y-aligned) source x-extent
        ymap = np.zeros((nx, ny))
        col_d = d[:, :, z].max(axis=0)
        col_s = s[:, :, z].max(axis=0)
        m = _extent_map(col_s, col_d, ny)
        if m is None:
            continue
        ymap[:] = m[None, :]
        from scipy.ndimage import map_coordinates
        ii, jj = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float), indexing="ij")
        s_y = map_coordinates(s[:, :, z], [ii, ymap], order=1, mode="nearest")  # source y-stretched
        xmap = ii.copy()
        for j in range(ny):
            mj = _extent_map(s_y[:, j], d[:, j, z], nx)
            if mj is not None:
                xmap[:, j] = mj
        sig = smooth_warp_xy / np.asarray(dest_seg.pixdim[:2]) if smooth_warp_xy else 0
        dx = gaussian_filter(xmap - ii, sig) if smooth_warp_xy else xmap - ii
        # composition: dest (i, j) -> (xmap(i, j), ymap(xmap, j)) ; y map is row-independent
        fx = ii + dx
        fy = np.interp(jj.ravel(), np.arange(ny), m).reshape(jj.shape)
        fwd[:, :, z, 0] = fx - ii
        fwd[:, :, z, 1] = fy - jj
    shifts = np.zeros(d.shape + (3,))
    shifts[..., :2] = fwd
    field = DisplacementField(displacement_from_voxel_shifts(dest_seg, shifts), dest_seg.affine)
    finv = field.inverse().disp.astype(np.float32)
    return field.disp.astype(np.float32), finv
