"""Group per-slice metrics into result rows: slice ranges, vertebral levels, PMJ distance, PAM50.

Per-slice arrays (RPI slice index, inferior to superior, NaN where there is no cord) are
selected by ``-z`` slice ranges, ``-vert`` levels (from a vertebral-level image or from disc
labels) and/or a window at a given distance from the pontomedullary junction (PMJ), then
averaged per group (one row, one row per level, or one row per slice). Rows are the dicts
written by :func:`spinalcordtoolbox.utils.csvio.write_results_csv` with :data:`COLUMNS`.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError
from spinalcordtoolbox.shape.process_seg import METRICS, SYMMETRY_METRICS

logger = logging.getLogger(__name__)

LEAD_COLUMNS = ["Slice (I->S)", "VertLevel", "DistancePMJ"]
#: column order of the established toolbox (v7.2 header, also the healthy database's)
#: (newer columns diameter_AP_ellipse, length_anterior, length_posterior come after the v7.2 ones)
COLUMNS = LEAD_COLUMNS + [f"{s}({m})" for m in METRICS if m != "length"
                          for s in ("MEAN", "STD")] + ["SUM(length)"]
#: added after COLUMNS with -symmetry 1
SYMMETRY_COLUMNS = [f"{s}({m})" for m in SYMMETRY_METRICS for s in ("MEAN", "STD")]


def parse_range(text: str, name: str) -> list[int]:
    """``"2:5"`` -> [2, 3, 4, 5]; ``"2,4"`` -> [2, 4]; ``"3"`` -> [3]."""
    values = []
    try:
        for part in str(text).split(","):
            if ":" in part:
                lo, hi = (int(v) for v in part.split(":"))
                if hi < lo:
                    raise ValueError
                values.extend(range(lo, hi + 1))
            elif part.strip():
                values.append(int(part))
    except ValueError:
        raise ImageError(f"Invalid {name} '{text}': use e.g. 2:5 or 2,3,4") from None
    return sorted(set(values))


def format_range(values) -> str:
    """[18, 19, ..., 35] -> ``18:35``; a single value -> ``3``."""
    values = [int(v) for v in values]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}:{hi}"


def levels_per_slice(im_levels: Image) -> np.ndarray:
    """Vertebral level of each RPI slice of a level image (most frequent non-zero value; NaN if none)."""
    # a view of the caller's data (reorientation makes the one copy), converted slice by slice:
    # the PAM50 level map (20 M voxels) never exists as a float64 or int64 volume
    im = Image(im_levels.data, hdr=im_levels.hdr, affine=im_levels.affine)
    data = im.require_3d("vertebral level file").change_orientation("RPI").data
    nz = data.shape[2]
    out = np.full(nz, np.nan)
    for z in range(nz):
        sl = data[:, :, z]
        if sl.dtype.kind == "f":
            sl = np.rint(np.nan_to_num(sl))
        if sl.min() < 0:
            raise ImageError("The vertebral level file has negative values")
        if not sl.any():
            continue
        counts = np.bincount(sl.ravel().astype(np.int64))
        counts[0] = 0
        out[z] = int(np.argmax(counts))
    return out


def levels_from_discs(im_discs: Image) -> np.ndarray:
    """Vertebral level of each RPI slice from disc point labels (3 = C2-C3 disc, ...).

    Level v lies between disc v (above) and disc v+1 (below); slices outside the outermost
    discs get no level (:func:`~spinalcordtoolbox.labeling.labels.level_of_each_slice`, the
    rule shared with ``sct_label_vertebrae``). The PMJ and conus labels (49, 50, 60) are not
    discs and are left out.
    """
    from spinalcordtoolbox.labeling.labels import NON_DISC_LABELS, level_of_each_slice

    im = im_discs.copy().require_3d("disc label file").change_orientation("RPI")
    coords = [c for c in im.nonzero_coords() if int(round(c[3])) not in NON_DISC_LABELS]
    if len(coords) < 2:
        raise ImageError("The disc label file needs at least two disc labels to define levels")
    by_value = {}
    for x, y, z, v in coords:
        by_value.setdefault(int(round(v)), []).append(z)
    disc_z = {v: float(np.mean(zs)) for v, zs in by_value.items()}
    # its LabelError (discs out of order) is an ImageError, as this function's own errors
    return level_of_each_slice(disc_z, im.data.shape[2], beyond_outer_discs=False)


def pmj_point(pmj_rpi: Image):
    """(x, y, z) voxel of the PMJ label.

    One non-zero voxel is the usual case. A label image that went through a reorientation or
    resampling with interpolation holds a blob of small values around it: the label is then
    the centre of mass of the voxels holding the maximum value (rounded to a voxel).
    """
    data = np.nan_to_num(np.asarray(pmj_rpi.data, dtype=float))
    if not data.any():
        raise ImageError("The PMJ label image is empty")
    top = np.argwhere(data == data.max())
    if len(top) > 1 or np.count_nonzero(data) > 1:
        logger.warning("The PMJ label image holds %d non-zero voxels: using the centre of the %d "
                       "voxel(s) of maximal value", np.count_nonzero(data), len(top))
    x, y, z = np.rint(top.mean(axis=0)).astype(int)
    return int(x), int(y), int(z)


def pmj_distance_per_slice(im_seg_rpi: Image, im_pmj: Image, algo="bspline", smooth=30) -> np.ndarray:
    """Distance (mm) along the cord centerline from the PMJ label down to each RPI slice.

    The centerline is fitted through the per-slice centres of mass of the segmentation and
    the PMJ point together, so it reaches the PMJ even when the segmentation stops below it.
    Slices above the PMJ get negative distances.
    """
    from spinalcordtoolbox.centerline.core import (centerline_length_per_slice,
                                                   fit_centerline_points, slice_centers_of_mass)

    pmj = im_pmj.copy().require_3d("PMJ label").change_orientation("RPI")
    if pmj.data.shape != im_seg_rpi.data.shape:
        raise ImageError(f"The PMJ label {pmj.data.shape} and the segmentation "
                         f"{im_seg_rpi.data.shape} have different dimensions")
    xp, yp, zp = pmj_point(pmj)
    z, x, y = slice_centers_of_mass(im_seg_rpi.data)
    keep = z < zp     # the PMJ replaces any segmentation above it (brainstem)
    z, x, y = np.r_[z[keep], zp], np.r_[x[keep], xp], np.r_[y[keep], yp]
    nz = im_seg_rpi.data.shape[2]
    zref = np.arange(nz)
    _, der = fit_centerline_points(z, x, y, im_seg_rpi.pixdim, zref, algo=algo, smooth=smooth)
    length = centerline_length_per_slice(der, im_seg_rpi.pixdim)
    # distance from the PMJ slice centre to each slice centre (trapezoid of per-slice lengths)
    steps = 0.5 * (length[1:] + length[:-1])
    cum = np.r_[0, np.cumsum(steps)]
    return cum[int(zp)] - cum


def select_slices(metrics, *, z_range=None, levels=None, vert=None, pmj_dist=None,
                  pmj_distance=None, pmj_extent=20.0, require_cord=True):
    """Slices that pass every given selection (sorted ascending).

    With ``require_cord`` only slices holding cord are kept; without it (per-slice output)
    empty slices of the selection stay, to be written with empty fields, but the selection
    must still hold some cord.
    """
    nz = len(metrics["area"])
    has_cord = ~np.isnan(metrics["area"])
    sel = has_cord.copy() if require_cord else np.ones(nz, bool)
    if z_range is not None:
        wanted = np.zeros(nz, bool)
        idx = [z for z in z_range if 0 <= z < nz]
        if not idx:
            raise ImageError(f"Slices {format_range(z_range)} are outside the image (0:{nz - 1})")
        wanted[idx] = True
        sel &= wanted
    if vert is not None:
        if levels is None:
            raise ImageError("-vert needs a vertebral level file (-vertfile) or disc labels (-discfile)")
        present = sorted({int(v) for v in levels[~np.isnan(levels)]})
        missing = [v for v in vert if v not in present]
        if missing:
            raise ImageError(f"Vertebral level(s) {','.join(map(str, missing))} not found in the "
                             f"vertebral level file (levels present: {','.join(map(str, present))})")
        sel &= np.isin(np.nan_to_num(levels, nan=-1), vert)
    if pmj_distance is not None:
        # the slab: round(extent / slice length) slices centred on the slice nearest to the
        # distance, the extra slice (even count) on the inferior side, as the established
        # toolbox does (distance 8 mm, extent 4 mm, PMJ 28 slices above -> slices 18:21)
        cand = np.flatnonzero(sel & has_cord & ~np.isnan(pmj_dist))
        if cand.size == 0:
            raise ImageError("No segmented slice with a distance to the PMJ")
        zc = int(cand[np.argmin(np.abs(pmj_dist[cand] - pmj_distance))])
        step = float(np.median(np.abs(np.diff(pmj_dist[max(zc - 2, 0):zc + 3])))) or 1.0
        if abs(pmj_dist[zc] - pmj_distance) > step:
            raise ImageError(f"No segmented slice at {pmj_distance} mm from the PMJ (the cord spans "
                             f"{np.nanmin(pmj_dist[cand]):.1f} to {np.nanmax(pmj_dist[cand]):.1f} mm)")
        n = max(1, int(round(pmj_extent / step)))
        window = np.zeros(nz, bool)
        window[max(zc - n // 2, 0):zc + (n - 1) // 2 + 1] = True
        sel &= window
    slices = np.flatnonzero(sel)
    if not has_cord[slices].any():
        raise ImageError("No slice with cord in the selected slices/levels")
    return slices


def _row(metrics, slices, slice_label, level_label, pmj_label):
    row = {"Slice (I->S)": slice_label, "VertLevel": level_label, "DistancePMJ": pmj_label}
    for m in [m for m in METRICS + SYMMETRY_METRICS if m in metrics]:
        vals = metrics[m][slices]
        vals = vals[~np.isnan(vals)]
        if m == "length":
            row["SUM(length)"] = float(vals.sum()) if vals.size else None
        else:
            row[f"MEAN({m})"] = float(vals.mean()) if vals.size else None
            row[f"STD({m})"] = float(vals.std()) if vals.size else None
    return row


def group_slices(slices, *, levels=None, perslice=False, perlevel=False, z_range=None):
    """Groups of slices, one per output row: ``(slices, slice label, level label)``.

    One group per slice (``perslice``), per level (``perlevel``, lowest slices first, i.e. the
    order the established toolbox writes: ``18:35,3`` then ``36:52,2``), else one group
    labelled with the requested ``z_range`` or the span of the slices.
    """
    def level_label(zs):
        if levels is None:
            return None
        vals = levels[zs]
        vals = vals[~np.isnan(vals)]
        return format_range(vals) if vals.size else None

    slices = np.asarray(slices)
    if perslice:
        return [(np.array([z]), str(int(z)), level_label([z])) for z in slices]
    if perlevel:
        if levels is None:
            raise ImageError("-perlevel needs a vertebral level file (-vertfile) or disc labels (-discfile)")
        by_level = {}
        for z in slices:
            if not np.isnan(levels[z]):
                by_level.setdefault(int(levels[z]), []).append(z)
        if not by_level:
            raise ImageError("None of the selected slices has a vertebral level")
        return [(np.array(zs), format_range(zs), str(lev))
                for lev, zs in sorted(by_level.items(), key=lambda kv: min(kv[1]))]
    label = format_range(z_range) if z_range is not None else format_range(slices)
    return [(slices, label, level_label(slices))]


def aggregate(metrics, slices, *, levels=None, perslice=False, perlevel=False,
              pmj_dist=None, pmj_distance=None, z_range=None):
    """Rows (dicts keyed by :data:`COLUMNS`) for the selected ``slices`` (see group_slices)."""
    rows = []
    for zs, slice_label, level_label in group_slices(slices, levels=levels, perslice=perslice,
                                                     perlevel=perlevel, z_range=z_range):
        if perslice:
            # 0.01 mm, as the established toolbox prints it
            dist = None if pmj_dist is None else round(float(pmj_dist[zs[0]]), 2)
        else:
            dist = pmj_distance
        rows.append(_row(metrics, zs, slice_label, level_label, dist))
    return rows


def _level_slices(levels, lev):
    return np.flatnonzero(np.nan_to_num(levels, nan=-1) == lev)


def normalize_to_pam50(metrics, levels, pam50_levels: np.ndarray, vert=None):
    """Per-slice metrics resampled onto PAM50 slices, level by level, as the established toolbox.

    Each level's slices (inferior to superior) are stretched linearly onto the PAM50 slices of
    the same level. At each boundary between two levels, the last slice of one and the first of
    the next both take their mean (for the interpolation only), so the curve has no jump.
    The most superior and most inferior levels may be cut by the field of view: they are
    stretched by the mean PAM50/subject slice ratio of the other levels and anchored at the
    boundary they share with their neighbour, so only the PAM50 slices they actually cover get
    values. Returns (pam50_metrics, used_levels): arrays over the PAM50 slices, NaN elsewhere.
    """
    n_pam = len(pam50_levels)
    names = [m for m in METRICS + SYMMETRY_METRICS if m in metrics]
    out = {m: np.full(n_pam, np.nan) for m in names}
    present = sorted({int(v) for v in levels[~np.isnan(levels)] if 0 < v < 49})
    if vert is not None:
        present = [lev for lev in present if lev in vert]
    present = [lev for lev in present if _level_slices(pam50_levels, lev).size]
    if not present:
        raise ImageError("No vertebral level of the subject is in the PAM50 template")
    subj = {lev: _level_slices(levels, lev) for lev in present}
    pam = {lev: _level_slices(pam50_levels, lev) for lev in present}
    inner = present[1:-1]
    scales = [pam[lev].size / subj[lev].size for lev in inner]
    scale = float(np.mean(scales)) if scales else float(np.mean([pam[lev].size / subj[lev].size
                                                                   for lev in present]))
    # present is sorted by level number: superior first. In RPI slices the superior level has
    # the highest z, so the boundary between present[i] and present[i+1] is at the lowest z of
    # present[i] and the highest z of present[i+1]
    for m in names:
        if m == "length":
            continue
        vals = metrics[m]
        bounds = [np.nanmean([vals[subj[a].min()], vals[subj[b].max()]]) if not
                  (np.isnan(vals[subj[a].min()]) and np.isnan(vals[subj[b].max()])) else np.nan
                  for a, b in zip(present[:-1], present[1:])]
        for i, lev in enumerate(present):
            zs, ps = subj[lev], pam[lev]
            level_vals = vals[zs].copy()          # ascending z: inferior to superior
            if i > 0:                             # boundary with the level above (superior end)
                level_vals[-1] = bounds[i - 1]
            if i < len(present) - 1:              # boundary with the level below (inferior end)
                level_vals[0] = bounds[i]
            n = zs.size
            edge = len(present) > 1 and lev in (present[0], present[-1])
            if edge:
                count = max(int(scale * n), 1)
                target = np.linspace(0, scale * n, count)
                source = np.linspace(0, scale * n, n)
            else:
                count = ps.size
                target = np.arange(ps.size, dtype=float)
                source = np.linspace(0, ps.size - 1, n)
            ok = ~np.isnan(level_vals)
            if not ok.any():
                continue
            inter = np.interp(target, source[ok], level_vals[ok]) if n > 1 else np.full(count, level_vals[0])
            dest = ps
            if edge:
                extra = inter.size - ps.size
                if lev == present[0]:
                    # the most superior level: anchored at its inferior end (lowest PAM50 slices)
                    inter, dest = (inter[:ps.size], ps) if extra > 0 else (inter, ps[:inter.size])
                else:
                    # the most inferior level: anchored at its superior end (highest slices)
                    inter, dest = (inter[extra:], ps) if extra > 0 else (inter, ps[ps.size - inter.size:])
            out[m][dest] = inter
    return out, present


def pam50_rows(pam_metrics, pam50_levels, used_levels=None):
    """One row per PAM50 slice of the levels the subject covers (all levels if not given), as
    the established toolbox; slices without a value have empty fields."""
    rows = []
    keep = pam50_levels > 0 if used_levels is None else np.isin(pam50_levels, list(used_levels))
    for z in np.flatnonzero(keep):
        row = _row(pam_metrics, [z], str(int(z)), str(int(pam50_levels[z])), None)
        row["SUM(length)"] = None   # lengths are not meaningful after resampling
        rows.append(row)
    return rows
