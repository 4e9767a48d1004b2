"""Find the spinal cord in an image with no trained model: cord candidates checked by their contour,
and a global path through them.

In every axial slice the cord is a roughly elliptical region (radius ~4 mm) surrounded by
cerebrospinal fluid, which is brighter than the cord in T2/T2*-weighted images and darker in
T1-weighted and diffusion images. A ring detector scores each pixel as a cord centre by comparing
the mean intensity in a disc around it with the brightest CSF found in 8 angular sectors of a
ring around that disc (the *second weakest* sector is kept: CSF may be missing on one side, where
the cord touches the canal); three scales (0.8, 1, 1.25 x the radius). Its local maxima are only
candidates: each is checked by fitting the cord contour around it (consistent boundary all around,
plausible area and shape, not on the image's edge or zero fill), and its neighbours' candidates are
checked in each slice too. The centerline is the path through the candidates that maximises their
summed likelihood under a Gaussian prior on the move between slices, in mm and scaled by the slice
thickness (dynamic programming over all slices at once, so no slice is decided alone); slices that
still jump away from their neighbours are re-detected near them or interpolated.
All sizes are in mm, so the same parameters hold on any grid.
"""
from __future__ import annotations

import numpy as np

#: plausible cord cross-sectional areas (mm2) for an adult human cord, C1 to the conus
AREA_RANGE_MM2 = (8.0, 250.0)

#: +1 where CSF is brighter than the cord, -1 where darker
POLARITY = {"t1": -1, "t2": 1, "t2s": 1, "dwi": -1}


def _sector_footprints(px: float, py: float, radius: float):
    r_out = 1.9 * radius
    nx, ny = int(np.ceil(r_out / px)), int(np.ceil(r_out / py))
    xx, yy = np.mgrid[-nx:nx + 1, -ny:ny + 1]
    xx, yy = xx * px, yy * py
    r = np.hypot(xx, yy)
    th = np.arctan2(yy, xx)
    inner = (r <= 0.62 * radius).astype(float)
    inner /= inner.sum()
    sectors = []
    for k in range(8):
        a0 = -np.pi + k * np.pi / 4
        fp = (r >= radius) & (r <= r_out) & (th >= a0) & (th < a0 + np.pi / 4)
        if fp.any():
            sectors.append(fp)
    return inner, sectors


def cord_score(slice2d: np.ndarray, pixdim, polarity: int, radius=4.0) -> np.ndarray:
    """Score of each pixel of an axial slice (RPI) as the centre of a cord of about ``radius`` mm."""
    from scipy import ndimage
    from scipy.signal import fftconvolve

    scale = np.percentile(np.abs(slice2d), 99) or 1.0
    img = polarity * slice2d.astype(float) / scale
    best = None
    for s in (0.8, 1.0, 1.25):
        inner, sectors = _sector_footprints(pixdim[0], pixdim[1], radius * s)
        centre = fftconvolve(img, inner, mode="same")
        ring = [ndimage.maximum_filter(img, footprint=fp, mode="constant", cval=-10.0) - centre
                for fp in sectors]
        score = np.sort(np.stack(ring), axis=0)[1]
        best = score if best is None else np.maximum(best, score)
    return best


def _candidates(score2d: np.ndarray, slice2d: np.ndarray, pixdim, polarity: int, radius: float,
                max_candidates: int):
    """Local maxima of a slice's ring score (at least ``radius`` mm apart), best first, each checked by
    fitting the cord contour around it: [(x, y, likelihood)] with the centre moved to the contour's
    centroid. The likelihood is that of :func:`contour_check` plus a quarter of the ring score relative
    to the slice's best; a contour with an implausible area is no candidate."""
    from scipy import ndimage

    foot = np.hypot(*np.mgrid[-int(radius / pixdim[0]):int(radius / pixdim[0]) + 1,
                              -int(radius / pixdim[1]):int(radius / pixdim[1]) + 1]
                    * np.array(pixdim[:2])[:, None, None]) <= radius
    peaks = (score2d == ndimage.maximum_filter(score2d, footprint=foot, mode="nearest")) & (score2d > 0)
    xs, ys = np.nonzero(peaks)
    if not len(xs):
        return []
    order = np.argsort(-score2d[xs, ys])[:max_candidates]
    best = float(score2d[xs[order[0]], ys[order[0]]])
    out = []
    for k in order:
        c = _checked(slice2d, (float(xs[k]), float(ys[k])), pixdim, polarity, radius,
                     0.25 * float(score2d[xs[k], ys[k]]) / best)
        if c is not None:
            out.append(c)
    return out


def _checked(slice2d, centre, pixdim, polarity, radius, bonus=0.0):
    """(x, y, likelihood) of the contour fitted around ``centre``, None if none or implausible."""
    from spinalcordtoolbox.propseg.surface import contour_check

    c, likelihood, area = contour_check(slice2d, centre, pixdim, polarity, radius)
    if likelihood is None or not AREA_RANGE_MM2[0] <= area <= AREA_RANGE_MM2[1]:
        return None
    # a cord of about ``radius`` (-radius): areas from half to 2.5 times pi r^2 cost nothing (cords
    # are elliptic, thick oblique slices cut them longer), beyond that the log of the excess
    lo, hi = 0.5 * np.pi * radius ** 2, 2.5 * np.pi * radius ** 2
    likelihood -= 0.5 * abs(np.log(np.clip(area, lo, hi) / area))
    return float(c[0]), float(c[1]), likelihood + bonus


def _add_neighbours(data, cands, pixdim, polarity, radius):
    """Each slice also checks the candidates of its neighbouring slices at their position: a cord
    missed among a slice's own score maxima is found where it is in the slices around it."""
    p = np.asarray(pixdim[:2], dtype=float)
    out = []
    for z in range(len(cands)):
        mine = list(cands[z])
        for nb in (z - 1, z + 1):
            if not 0 <= nb < len(cands):
                continue
            for x, y, _ in cands[nb]:
                if any(np.hypot(*((np.array([x, y]) - m[:2]) * p)) < 1.0 for m in mine):
                    continue
                c = _checked(data[:, :, z], (x, y), pixdim, polarity, radius)
                if c is not None and all(np.hypot(*((np.array(c[:2]) - m[:2]) * p)) >= 1.0 for m in mine):
                    mine.append(c)
        out.append(mine)
    return out


def candidate_path(cands, pixdim, step_mm: float, max_gap_mm: float = 10.0):
    """Global path through per-slice candidates (dynamic programming): maximises the summed likelihood
    minus 0.5 (d / (g step_mm))^2 per move of d mm across g slices (a Gaussian prior on the cord's
    displacement). The path may skip slices (up to ``max_gap_mm``, at least one slice): a slice where
    the cord is not among the candidates then costs nothing instead of forcing a detour; skipped
    slices are interpolated. Returns {slice: (x, y)}."""
    zs = [z for z in range(len(cands)) if cands[z]]
    if not zs:
        return {}
    p = np.asarray(pixdim[:2], dtype=float)
    max_gap = max(2, int(round(max_gap_mm / pixdim[2])))
    xy = [np.array([c[:2] for c in cands[z]]) * p for z in zs]
    like = [np.array([c[2] for c in cands[z]]) for z in zs]
    total, back = [], []
    for i, z in enumerate(zs):
        best = np.zeros(len(like[i]))  # starting the path here
        arg = [None] * len(like[i])
        for j in range(i - 1, -1, -1):
            gap = z - zs[j]
            if gap > max_gap:
                break
            d2 = ((xy[i][:, None, :] - xy[j][None, :, :]) ** 2).sum(-1) / (gap * step_mm) ** 2
            trans = total[j][None, :] - 0.5 * d2
            k = np.argmax(trans, axis=1)
            t = trans[np.arange(len(k)), k]
            for m in np.nonzero(t > best)[0]:
                best[m], arg[m] = t[m], (j, int(k[m]))
        total.append(best + like[i])
        back.append(arg)
    i = int(np.argmax([t.max() for t in total]))
    k = int(np.argmax(total[i]))
    path = {}
    while True:
        path[zs[i]] = cands[zs[i]][k][:2]
        if back[i][k] is None:
            break
        i, k = back[i][k]
    return path


def reject_jumps(path: dict, cands, pixdim, radius: float, step_mm: float):
    """Slices whose centre is more than ``radius`` + ``step_mm`` (the cord's expected move between two
    slices) from the median of their neighbours (two on each side) are re-detected: the best candidate
    within that distance of the prediction, else dropped (the centre is then interpolated).
    Returns (path, number of slices re-detected or dropped)."""
    limit = radius + step_mm
    zs = sorted(path)
    p = np.asarray(pixdim[:2], dtype=float)
    xy = np.array([path[z] for z in zs], dtype=float)
    out, changed = dict(path), 0
    for i, z in enumerate(zs):
        nb = [j for j in range(max(0, i - 2), min(len(zs), i + 3)) if j != i]
        if len(nb) < 2:
            continue
        pred = np.median(xy[nb], axis=0)
        if np.hypot(*((xy[i] - pred) * p)) <= limit:
            continue
        changed += 1
        near = [c for c in cands[z] if np.hypot(*((np.array(c[:2]) - pred) * p)) <= limit]
        if near:
            out[z] = max(near, key=lambda c: c[2])[:2]
        else:
            del out[z]
    return out, changed


def keep_continuous(path: dict, pixdim, radius: float, step_mm: float, max_gap_mm: float = 10.0):
    """The cord is one continuous tube: the path is cut where two consecutive path slices are further
    apart than ``radius`` + ``step_mm`` (the jump limit of :func:`reject_jumps`), plus, across slices
    the path skipped, the cord's course at 45 degrees from the slice normal (steeper than a cord runs
    through axial slices): there it left the cord for another structure (below the conus, the dark
    roots and foramina beside the canal). Only the longest piece is kept, with the other pieces that
    line up with what is kept across a gap no longer than the path itself may skip (``max_gap_mm``,
    as :func:`candidate_path`): the cord found again after a detour.
    Returns (path, number of slices dropped)."""
    zs = sorted(path)
    if len(zs) < 2:
        return dict(path), 0
    p = np.asarray(pixdim[:2], dtype=float)
    max_gap = max(2, int(round(max_gap_mm / pixdim[2])))

    def joined(z0, z1):
        limit = radius + step_mm + (abs(z1 - z0) - 1) * pixdim[2]
        return np.hypot(*((np.array(path[z1]) - path[z0]) * p)) <= limit

    pieces, start = [], 0
    for i in range(1, len(zs)):
        if not joined(zs[i - 1], zs[i]):
            pieces.append(zs[start:i])
            start = i
    pieces.append(zs[start:])
    if len(pieces) == 1:
        return dict(path), 0
    kept = [max(pieces, key=lambda piece: (piece[-1] - piece[0], len(piece)))]
    added = True
    while added:
        added = False
        for piece in pieces:
            if any(piece is k for k in kept):
                continue
            lo, hi = min(k[0] for k in kept), max(k[-1] for k in kept)
            if ((hi < piece[0] <= hi + max_gap and joined(hi, piece[0]))
                    or (lo - max_gap <= piece[-1] < lo and joined(piece[-1], lo))):
                kept.append(piece)
                added = True
    out = {z: path[z] for piece in kept for z in piece}
    return out, len(path) - len(out)


def detect_cord_centres(data: np.ndarray, pixdim, contrast: str, radius=4.0, anchors=None, max_candidates=8,
                        anchor_bonus=10.0):
    """Cord centre per axial slice of an RPI volume: {slice: (x, y)} in voxels.

    In each slice, the ``max_candidates`` best local maxima of the ring score are checked by fitting a
    contour around them; the centerline is the global best path through these candidates (dynamic
    programming with a smoothness cost in mm, scaled by the slice thickness), then slices that still
    jump away from their neighbours are re-detected near them. ``anchors``: {slice: (x, y)} known
    centres (``-init-mask``, ``-init``, the cnn detector) added as candidates with ``anchor_bonus``
    (10: the path goes through them; ~1: preferred, but a smooth path through the image's own
    candidates wins over an anchor that jumps). Returns (centres, number of slices re-detected).
    """
    from spinalcordtoolbox.utils.cli import progress_bar
    from spinalcordtoolbox.propseg.surface import contour_check

    polarity = POLARITY[contrast]
    anchors = anchors or {}
    cands = []
    for z in progress_bar(range(data.shape[2]), desc="Cord detection", unit="slice"):
        sl = data[:, :, z]
        cands.append(_candidates(cord_score(sl, pixdim, polarity, radius), sl, pixdim, polarity, radius,
                                 max_candidates))
    cands = _add_neighbours(data, cands, pixdim, polarity, radius)
    for z, xy in anchors.items():
        if 0 <= z < len(cands):
            _, likelihood, _ = contour_check(data[:, :, z], xy, pixdim, polarity, radius)
            cands[z].append((float(xy[0]), float(xy[1]), anchor_bonus + (likelihood or 0.0)))
    # a Gaussian prior on the cord's move between slices: sigma 1.5 mm between thin slices, and
    # tan(20 deg) x the thickness between thick ones (axial slices are prescribed about
    # perpendicular to the cord; larger angles cost more but remain possible)
    step = max(1.5, np.tan(np.radians(20)) * pixdim[2])
    path = candidate_path(cands, pixdim, step_mm=step)
    path, changed = reject_jumps(path, cands, pixdim, radius, step)
    path, dropped = keep_continuous(path, pixdim, radius, step)
    return path, changed + dropped
