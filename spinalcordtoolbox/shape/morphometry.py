"""sct_process_segmentation's pipeline: from a segmentation and user options to result rows.

Per-slice metrics (:mod:`spinalcordtoolbox.shape.process_seg`) are selected and grouped
(:mod:`spinalcordtoolbox.shape.aggregate_slicewise`) by slices, levels or PMJ distance, or resampled
to PAM50 slices (``normalize_pam50``). :func:`qc_shapes` turns the fitted ellipses into the
outlines drawn on the QC mosaic.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid

logger = logging.getLogger(__name__)


@dataclass
class MorphometryResult:
    rows: list
    metrics: dict                      # per RPI slice (or per PAM50 slice when normalised)
    levels: np.ndarray | None = None   # per slice vertebral level
    pmj_dist: np.ndarray | None = None
    pam50_levels: np.ndarray | None = None
    used_levels: list = field(default_factory=list)
    # per RPI slice of the input: the fitted ellipse (process_seg.SliceEllipse), for the QC
    ellipses: dict = field(default_factory=dict)


def _same_shape(im: Image, im_seg: Image, name: str):
    check_same_grid(im, im_seg, names=(name, "segmentation"))


def pam50_level_per_slice(path=None) -> np.ndarray:
    """Vertebral level of each PAM50 slice, from the installed PAM50_levels.nii.gz."""
    from spinalcordtoolbox.shape.aggregate_slicewise import levels_per_slice

    if path is None:
        from spinalcordtoolbox.download import locate
        path = locate("PAM50") / "template" / "PAM50_levels.nii.gz"
    return np.nan_to_num(levels_per_slice(Image(path)), nan=0).astype(int)


def morphometry(im_seg: Image, *, z=None, vert=None, im_vertfile: Image | None = None,
                im_discfile: Image | None = None, perslice=False, perlevel=False,
                angle_corr=True, im_angle_centerline: Image | None = None,
                centerline_algo="bspline", centerline_smooth=30, im_pmj: Image | None = None,
                pmj_distance=None, pmj_extent=20.0, normalize_pam50=False,
                pam50_levels_path=None, symmetry=False) -> MorphometryResult:
    """Compute the rows of sct_process_segmentation. ``z``/``vert`` are strings like ``2:5``.

    As the established toolbox, ``perlevel`` only splits rows when levels are selected with
    ``vert``; without it the slices are aggregated into one row. ``symmetry``: add the
    per-slice left/right symmetry metrics.
    """
    from spinalcordtoolbox.shape import aggregate_slicewise as agg
    from spinalcordtoolbox.shape.process_seg import compute_shape

    im_seg = im_seg.copy().require_3d("segmentation")
    z_range = agg.parse_range(z, "slice range (-z)") if z else None
    vert_list = agg.parse_range(vert, "vertebral levels (-vert)") if vert else None
    levels = None
    if im_vertfile is not None:
        im_vertfile = im_vertfile.copy().require_3d("vertebral level file")
        _same_shape(im_vertfile, im_seg, "vertebral level file")
        levels = agg.levels_per_slice(im_vertfile)
    elif im_discfile is not None:
        im_discfile = im_discfile.copy().require_3d("disc label file")
        _same_shape(im_discfile, im_seg, "disc label file")
        levels = agg.levels_from_discs(im_discfile)
    if perlevel and not vert_list:
        logger.info("-perlevel 1 without -vert: one row for all slices (as the established toolbox)")
        perlevel = False
    if (vert_list or normalize_pam50) and levels is None:
        raise ImageError("-vert, -perlevel and -normalize-PAM50 need -vertfile or -discfile")
    if pmj_distance is not None and im_pmj is None:
        raise ImageError("-pmj-distance needs the PMJ label (-pmj)")
    if im_pmj is not None:
        _same_shape(im_pmj.copy().require_3d("PMJ label"), im_seg, "PMJ label")

    metrics, _, ellipses = compute_shape(im_seg, angle_correction=angle_corr,
                                         im_centerline=im_angle_centerline,
                                         centerline_algo=centerline_algo,
                                         centerline_smooth=centerline_smooth, return_ellipses=True,
                                         symmetry=symmetry)
    n_cord = int(np.count_nonzero(~np.isnan(metrics["area"])))
    logger.info("Shape metrics on the %d slice(s) with cord (of %d)%s", n_cord, len(metrics["area"]),
                ", angle-corrected" if angle_corr else "")
    pmj_dist = None
    if im_pmj is not None:
        pmj_dist = agg.pmj_distance_per_slice(im_seg.copy().change_orientation("RPI"), im_pmj,
                                              algo=centerline_algo, smooth=centerline_smooth)

    if normalize_pam50:
        pam_levels = pam50_level_per_slice(pam50_levels_path)
        if vert_list:
            agg.select_slices(metrics, levels=levels, vert=vert_list)  # checks the levels exist
        pam_metrics, used = agg.normalize_to_pam50(metrics, levels, pam_levels, vert=vert_list)
        rows = agg.pam50_rows(pam_metrics, pam_levels, used)
        return MorphometryResult(rows, pam_metrics, levels, pmj_dist, pam_levels, used, ellipses)

    # per-slice output lists every slice of the selection, empty fields where there is no cord
    slices = agg.select_slices(metrics, z_range=z_range, levels=levels, vert=vert_list,
                               pmj_dist=pmj_dist, pmj_distance=pmj_distance, pmj_extent=pmj_extent,
                               require_cord=not perslice)
    rows = agg.aggregate(metrics, slices, levels=levels, perslice=perslice, perlevel=perlevel,
                         pmj_dist=pmj_dist, pmj_distance=pmj_distance, z_range=z_range)
    return MorphometryResult(rows, metrics, levels, pmj_dist, ellipses=ellipses)


#: QC colours: ellipse outline, AP and RL diameters (distinct from the red segmentation).
QC_ELLIPSE_COLOUR, QC_AP_COLOUR, QC_RL_COLOUR = "#ffd400", "#00e5ff", "#7dff5a"


#: QC colour of the left/right symmetry axis (-symmetry 1)
QC_SYMMETRY_COLOUR = "#ff66ff"


def qc_shapes(ellipses: dict, symmetry: dict | None = None) -> list:
    """Outlines for the QC mosaic: per slice, the fitted ellipse and its AP and RL diameters
    (segments through the centre, labelled with their length in the orthogonal plane, i.e.
    the diameter_AP / diameter_RL of the results). With ``symmetry`` (per-slice metrics of
    ``-symmetry 1``), the symmetry axis of each slice, labelled with its Dice."""
    from spinalcordtoolbox.reports.views import ellipse_shape, segment_shape

    shapes = []
    for z in sorted(ellipses):
        e = ellipses[z]
        if symmetry is not None and np.isfinite(symmetry["symmetry_dice"][z]):
            shapes.append(segment_shape(e.centre - 1.3 * e.semi_ap, e.centre + 1.3 * e.semi_ap,
                                        colour=QC_SYMMETRY_COLOUR,
                                        label=f"sym Dice {symmetry['symmetry_dice'][z]:.2f}"))
        shapes.append(segment_shape(e.centre - e.semi_ap, e.centre + e.semi_ap, colour=QC_AP_COLOUR,
                                    label=f"AP {e.diameter_ap:.1f} mm"))
        shapes.append(segment_shape(e.centre - e.semi_rl, e.centre + e.semi_rl, colour=QC_RL_COLOUR,
                                    label=f"RL {e.diameter_rl:.1f} mm"))
        # outline last: drawn over the diameters' ends
        shapes.append(ellipse_shape(e.centre, e.semi_ap, e.semi_rl, colour=QC_ELLIPSE_COLOUR))
    return shapes
