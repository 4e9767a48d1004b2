"""aSCOR: spinal cord area / spinal canal area, per slice and aggregated.

Each segmentation's area is computed per slice with its own centerline angle correction
(as running sct_process_segmentation on each), then the per-slice ratio is averaged over
the requested groups (all slices with both, per level, per slice).
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid

COLUMNS = ["Slice (I->S)", "VertLevel", "MEAN(area_SC)", "MEAN(area_canal)", "MEAN(aSCOR)",
           "STD(aSCOR)"]


def compute_ascor(im_cord: Image, im_canal: Image, *, im_vertfile: Image | None = None,
                  perlevel=False, perslice=False, z=None, vert=None):
    """Rows (dicts keyed by :data:`COLUMNS`) and the per-slice ratio array."""
    from spinalcordtoolbox.shape import aggregate_slicewise as agg
    from spinalcordtoolbox.shape.process_seg import compute_shape

    im_cord = im_cord.copy().require_3d("cord segmentation")
    im_canal = im_canal.copy().require_3d("canal segmentation")
    check_same_grid(im_canal, im_cord, names=("canal segmentation", "cord segmentation"))
    cord, _ = compute_shape(im_cord)
    canal, _ = compute_shape(im_canal)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(canal["area"] > 0, cord["area"] / canal["area"], np.nan)
    if np.nanmax(ratio) > 1.0 + 1e-6:
        bad = np.flatnonzero(ratio > 1.0 + 1e-6)
        raise ImageError(f"The cord is larger than the canal on slice(s) {agg.format_range(bad)}: "
                         "are -i-SC and -i-canal swapped?")
    levels = None
    if im_vertfile is not None:
        im_vertfile = im_vertfile.copy().require_3d("vertebral level file")
        check_same_grid(im_vertfile, im_cord, names=("vertebral level file", "cord segmentation"))
        levels = agg.levels_per_slice(im_vertfile)
    if (perlevel or vert) and levels is None:
        raise ImageError("-perlevel and -vert need the vertebral level file (-vertfile)")
    z_range = agg.parse_range(z, "slice range (-z)") if z else None
    vert_list = agg.parse_range(vert, "vertebral levels (-vert)") if vert else None
    # slices with both segmentations ("area" = the ratio, NaN elsewhere)
    slices = agg.select_slices({"area": ratio}, z_range=z_range, levels=levels, vert=vert_list)
    rows = []
    for zs, slice_label, level_label in agg.group_slices(slices, levels=levels, perslice=perslice,
                                                         perlevel=perlevel, z_range=z_range):
        rows.append({"Slice (I->S)": slice_label, "VertLevel": level_label,
                     "MEAN(area_SC)": float(np.mean(cord["area"][zs])),
                     "MEAN(area_canal)": float(np.mean(canal["area"][zs])),
                     "MEAN(aSCOR)": float(np.mean(ratio[zs])), "STD(aSCOR)": float(np.std(ratio[zs]))})
    return rows, ratio
