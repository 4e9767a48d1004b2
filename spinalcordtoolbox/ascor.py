"""aSCOR: spinal cord area / spinal canal area, per slice and aggregated.

Each segmentation's area is computed per slice with its own centerline angle correction
(as running sct_process_segmentation on each), then the per-slice ratio is averaged over
the requested groups (all slices with both, per level, per slice).
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

COLUMNS = ["Slice (I->S)", "VertLevel", "MEAN(area_SC)", "MEAN(area_canal)", "MEAN(aSCOR)",
           "STD(aSCOR)"]


def compute_ascor(im_cord: Image, im_canal: Image, *, im_vertfile: Image | None = None,
                  perlevel=False, perslice=False, z=None, vert=None):
    """Rows (dicts keyed by :data:`COLUMNS`) and the per-slice ratio array."""
    from spinalcordtoolbox.aggregate_slicewise import (format_range, levels_per_slice, parse_range)
    from spinalcordtoolbox.process_seg import compute_shape

    im_cord = im_cord.copy().require_3d("cord segmentation")
    im_canal = im_canal.copy().require_3d("canal segmentation")
    if im_cord.data.shape != im_canal.data.shape:
        raise ImageError(f"The cord {im_cord.data.shape} and canal {im_canal.data.shape} "
                         "segmentations have different dimensions")
    cord, _ = compute_shape(im_cord)
    canal, _ = compute_shape(im_canal)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(canal["area"] > 0, cord["area"] / canal["area"], np.nan)
    if np.nanmax(ratio) > 1.0 + 1e-6:
        bad = np.flatnonzero(ratio > 1.0 + 1e-6)
        raise ImageError(f"The cord is larger than the canal on slice(s) {format_range(bad)}: "
                         "are -i-SC and -i-canal swapped?")
    levels = None
    if im_vertfile is not None:
        im_vertfile = im_vertfile.copy().require_3d("vertebral level file")
        if im_vertfile.data.shape != im_cord.data.shape:
            raise ImageError(f"The vertebral level file {im_vertfile.data.shape} and the cord "
                             f"segmentation {im_cord.data.shape} have different dimensions")
        levels = levels_per_slice(im_vertfile)
    if (perlevel or vert) and levels is None:
        raise ImageError("-perlevel and -vert need the vertebral level file (-vertfile)")
    sel = ~np.isnan(ratio)
    if z:
        keep = np.zeros(len(sel), bool)
        keep[[i for i in parse_range(z, "slice range (-z)") if 0 <= i < len(sel)]] = True
        sel &= keep
    if vert:
        wanted = parse_range(vert, "vertebral levels (-vert)")
        present = sorted({int(v) for v in levels[~np.isnan(levels)]})
        missing = [v for v in wanted if v not in present]
        if missing:
            raise ImageError(f"Vertebral level(s) {','.join(map(str, missing))} not found in the "
                             "vertebral level file")
        sel &= np.isin(np.nan_to_num(levels, nan=-1), wanted)
    slices = np.flatnonzero(sel)
    if slices.size == 0:
        raise ImageError("No slice holds both the cord and the canal in the selection")

    def row(zs, slice_label, level_label):
        return {"Slice (I->S)": slice_label, "VertLevel": level_label,
                "MEAN(area_SC)": float(np.mean(cord["area"][zs])),
                "MEAN(area_canal)": float(np.mean(canal["area"][zs])),
                "MEAN(aSCOR)": float(np.mean(ratio[zs])), "STD(aSCOR)": float(np.std(ratio[zs]))}

    def lev(zs):
        if levels is None:
            return None
        v = levels[zs]
        v = v[~np.isnan(v)]
        return format_range(v) if v.size else None

    if perslice:
        rows = [row([z], str(z), lev([z])) for z in slices]
    elif perlevel:
        groups = {}
        for z in slices:
            if not np.isnan(levels[z]):
                groups.setdefault(int(levels[z]), []).append(z)
        rows = [row(zs, format_range(zs), str(v)) for v, zs in sorted(groups.items(), key=lambda kv: min(kv[1]))]
    else:
        rows = [row(slices, format_range(slices), lev(slices))]
    return rows, ratio
