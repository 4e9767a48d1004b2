"""Spinal cord compression ratios (MSCC-style) at labelled compression sites.

At each compression label, the cord metric mi (e.g. antero-posterior diameter) is compared
with the mean of the metric in non-compressed cord above (ma) and below (mb)::

    ratio = (1 - mi / ((ma + mb) / 2)) * 100      [%]

``ma`` and ``mb`` average the slices whose distance along z from the compression lies in
[distance, distance + extent] mm (above and below), skipping slices within ``distance`` of
any other compression. In lesion mode (the labels are a lesion mask, e.g. traumatic injury),
each lesion (3-D connected component) is one site: ``mi`` is the metric on the lesion's centre
slice, and the distances are counted from its uppermost slice (above) and its lowermost
slice (below), as the established toolbox. With healthy-control normalisation each value is first divided by
the healthy-control mean at the same PAM50 slice (subject slices are mapped to PAM50 level
by level), which removes the natural change of cord size along the spine.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid

logger = logging.getLogger(__name__)

METRICS = ("diameter_AP", "area", "diameter_RL", "eccentricity", "solidity")


def mscc(mi, ma, mb):
    """Maximum spinal cord compression [%] (Miyanji et al., Radiology 2007): metric ``mi`` at the
    compression against the mean of ``ma`` (above) and ``mb`` (below)."""
    return (1 - mi / ((ma + mb) / 2)) * 100


def subject_to_pam50_slices(z, levels, pam50_levels):
    """PAM50 slice (float) of each subject RPI slice ``z``, by linear mapping within its level."""
    z = np.atleast_1d(np.asarray(z, float))
    out = np.full(z.shape, np.nan)
    for i, zi in enumerate(z):
        lev = levels[int(round(zi))]
        if np.isnan(lev):
            continue
        zs = np.flatnonzero(levels == lev)
        ps = np.flatnonzero(pam50_levels == lev)
        if ps.size == 0:
            continue
        rel = (zi - zs.min() + 0.5) / (zs.max() - zs.min() + 1)
        out[i] = ps.min() - 0.5 + rel * (ps.max() - ps.min() + 1)
    return out


def compression_ratios(metrics: dict, comp_slices, pixdim_z, *, metric="diameter_AP",
                       distance=10.0, extent=20.0, levels=None, hc_per_pam50_slice=None,
                       pam50_levels=None, spans=None):
    """One dict per compression: slice, level, mi, ma, mb, ratio (and normalised ratio).

    ``hc_per_pam50_slice``: healthy-control mean of ``metric`` per PAM50 slice (array),
    enables the normalised ratio (needs ``levels`` and ``pam50_levels``). ``spans``: per
    site, the (lowest, highest) slice it covers (a lesion); distances are counted from them.
    """
    if metric not in METRICS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("metric", metric, METRICS)
    values = metrics[metric]
    nz = len(values)
    zmm = np.arange(nz) * pixdim_z
    sites = sorted(zip([int(z) for z in comp_slices], spans or [(int(z), int(z)) for z in comp_slices]))
    near_other = np.zeros(nz, bool)
    for _, (lo, hi) in sites:
        near_other |= (zmm > lo * pixdim_z - distance) & (zmm < hi * pixdim_z + distance)
    results = []
    for zc, (lo, hi) in sites:
        if np.isnan(values[zc]):
            raise ImageError(f"No cord on the slice of the compression label at slice {zc}")
        d_up = zmm - hi * pixdim_z
        d_down = lo * pixdim_z - zmm
        above = (d_up >= distance) & (d_up <= distance + extent) & ~near_other & ~np.isnan(values)
        below = (d_down >= distance) & (d_down <= distance + extent) & ~near_other & ~np.isnan(values)
        if not above.any() or not below.any():
            side = "above" if not above.any() else "below"
            raise ImageError(f"No non-compressed cord {distance}-{distance + extent} mm {side} the "
                             f"compression at slice {zc}: the segmentation does not extend far "
                             "enough (reduce -distance/-extent)")
        mi, ma, mb = values[zc], values[above].mean(), values[below].mean()
        row = {"slice": zc, "level": None if levels is None or np.isnan(levels[zc]) else int(levels[zc]),
               "mi": mi, "ma": ma, "mb": mb, "ratio": mscc(mi, ma, mb)}
        if hc_per_pam50_slice is not None:
            def hc_at(zs):
                p = subject_to_pam50_slices(zs, levels, pam50_levels)
                p = p[~np.isnan(p)]
                if p.size == 0:
                    return np.nan
                return np.nanmean(np.interp(p, np.arange(len(hc_per_pam50_slice)), hc_per_pam50_slice))
            hi, ha, hb = hc_at([zc]), hc_at(np.flatnonzero(above)), hc_at(np.flatnonzero(below))
            if np.isnan([hi, ha, hb]).any():
                raise ImageError(f"Compression at slice {zc}: no vertebral level to map it (or the "
                                 "non-compressed slices) to the PAM50 template")
            row["ratio_norm"] = mscc(mi / hi, ma / ha, mb / hb)
        results.append(row)
    return results


def lesion_sites(im_lesion_rpi: Image):
    """(centre slice, (lowest, highest) slice) of each 3-D connected lesion, inferior first."""
    from scipy import ndimage

    mask = np.nan_to_num(np.asarray(im_lesion_rpi.data, float)) > 0.5
    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    if n == 0:
        raise ImageError("The lesion mask is empty")
    sites = []
    for i in range(1, n + 1):
        zs = np.flatnonzero((labels == i).any(axis=(0, 1)))
        sites.append((int(round((zs.min() + zs.max()) / 2)), (int(zs.min()), int(zs.max()))))
    return sorted(sites)


MODES = ("compression", "lesion")


def compute_compression(im_seg: Image, im_labels: Image, im_vertfile: Image | None = None, *,
                        metric="diameter_AP", normalize_hc=False, sex=None, age=None,
                        distance=10.0, extent=20.0, hc_folder=None, pam50_levels_path=None,
                        mode="compression"):
    """Compression ratios of a cord segmentation at the labelled compression sites
    (``mode="compression"``: one point per site) or at each lesion of a lesion mask
    (``mode="lesion"``)."""
    from spinalcordtoolbox.shape.aggregate_slicewise import levels_per_slice
    from spinalcordtoolbox.shape.process_seg import compute_shape

    im_seg = im_seg.copy().require_3d("segmentation")
    im_labels = im_labels.copy().require_3d("compression labels")
    check_same_grid(im_labels, im_seg, names=("compression labels", "segmentation"))
    if mode not in MODES:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("mode", mode, MODES)
    labels_rpi = im_labels.change_orientation("RPI")
    if mode == "lesion":
        sites = lesion_sites(labels_rpi)
        comp_slices, spans = [c for c, _ in sites], [sp for _, sp in sites]
    else:
        coords = labels_rpi.nonzero_coords()
        if len(coords) == 0:
            raise ImageError("The compression label image is empty")
        comp_slices, spans = coords[:, 2].astype(int), None
    levels = None
    if im_vertfile is not None:
        im_vertfile = im_vertfile.copy().require_3d("vertebral level file")
        check_same_grid(im_vertfile, im_seg, names=("vertebral level file", "segmentation"))
        levels = levels_per_slice(im_vertfile)
    hc = pam_levels = None
    if normalize_hc:
        if levels is None:
            raise ImageError("-normalize-hc 1 needs the vertebral level file (-vertfile)")
        from spinalcordtoolbox.shape.hc_database import hc_slice_stats, load_hc
        from spinalcordtoolbox.shape.morphometry import pam50_level_per_slice

        pam_levels = pam50_level_per_slice(pam50_levels_path)
        stats = hc_slice_stats(load_hc(hc_folder, sex=sex, age=age, metrics=[metric]), metric)
        hc = np.full(len(pam_levels), np.nan)
        idx = stats.index.to_numpy().astype(int)
        ok = (idx >= 0) & (idx < len(hc))
        hc[idx[ok]] = stats["mean"].to_numpy()[ok]
        # fill slices the database lacks, so interpolation between slices is defined
        good = ~np.isnan(hc)
        hc = np.interp(np.arange(len(hc)), np.flatnonzero(good), hc[good])
    metrics, _ = compute_shape(im_seg)
    pz = im_seg.copy().change_orientation("RPI").pixdim[2]
    return compression_ratios(metrics, comp_slices, pz, metric=metric, distance=distance,
                              extent=extent, levels=levels, hc_per_pam50_slice=hc,
                              pam50_levels=pam_levels, spans=spans)
