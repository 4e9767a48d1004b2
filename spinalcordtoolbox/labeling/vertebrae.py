"""Vertebral labeling of a spinal cord segmentation (the engine of ``sct_label_vertebrae``).

Method (template matching along the straightened cord, no trained model):

1. The cord centerline of the segmentation is fitted and parametrised by arc length ``s``
   (:class:`~spinalcordtoolbox.straightening.CordCurve`): the straightened cord. A sagittal
   *strip* of the image is sampled in the planes orthogonal to the centerline: rows = arc
   length (1 mm steps), columns = antero-posterior offset from the cord centre (1 mm), averaged
   over a few mm left-right of the mid-sagittal plane. The vertebral bodies and discs lie in
   the anterior part of the strip.
2. The same strip is sampled along the template's (already straight) centerline from its
   contrast image (``PAM50_t1/t2/t2s``), with the template discs (``PAM50_label_disc``) at
   known arc lengths.
   Both strips are smoothed and high-passed along the cord (what is constant along it, the
   cord and CSF, would otherwise dominate every correlation).
3. Starting from one known disc (given with ``-initz``/``-initcenter``/``-initfile``/
   ``-initlabel``, or the C2/C3 disc found automatically, below), the next disc is predicted
   at the template's inter-disc distance scaled to the subject (the scale is re-estimated from
   the discs found so far), and placed where the subject patch best correlates with the
   template patch around that template disc, within a window around the prediction. The walk
   goes down, then up, until the cord ends.

   Automatic C2/C3 detection (no init): the whole subject strip is aligned with the template
   strip over scales (0.85-1.15) and shifts, among the alignments that put the template's
   C2/C3 disc inside the cord's extent (the C2/C3 disc must be in the field of view: the
   spine is nearly periodic, and only its top end, the tall C2 body, or the shape of the cord
   anchor the naming). The score adds two correlations: the disc/body pattern of the bands,
   and the cord's cross-sectional area profile along the cord against the template cord's
   (the cervical enlargement, widest around C4-C5, changes from level to level where the
   disc pattern repeats; focal narrowings such as a compression, shorter than 15 mm and
   deeper than 15 %, are filled in the subject's profile first). The confidence is the
   margin by which the best alignment beats every alignment naming the levels half a level
   or more differently; below ``min_margin`` the command refuses with the init flags rather
   than risk labeling one level off. The area profile of a short field of view is smooth and
   can fit a wrong scale best, so the walk is run from the best alignment at every scale and
   the one kept is the walk whose discs the template confirms best (disc-pattern correlation
   of its alignment + the summed positive correlations of its discs with the template's disc
   patches).
4. Each cord voxel gets the level of the disc above it
   (:func:`spinalcordtoolbox.labeling.labels.labelize_from_discs`: C3 -> 3), and each disc a
   single voxel at its posterior tip (3 = C2/C3).
5. When the template has a PMJ label and the image reaches the brainstem (judged from the
   C2/C3 disc found and the template's C2/C3-to-PMJ distance), the PMJ found by
   :mod:`spinalcordtoolbox.labeling.pmj` (the ``sct_detect_pmj`` detector) is added as label 50
   if it lies at an anatomically plausible distance above C2/C3.

Only arc lengths are used for matching, so the result does not depend on the cord's
curvature; positions go back to the native image through the same curve.
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field

import numpy as np

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.labeling.pmj import PMJ_VALUE

logger = logging.getLogger(__name__)

INIT_FLAGS = ("-initz <z>,<disc> (e.g. -initz 34,3), -initcenter <disc>, -initfile or -initlabel "
              "(place it in the viewer: sct_label_utils -i <image> -create-viewer 3 -o init.nii.gz)")


#: scale (mm along the cord) of the intensity trends removed before matching
HIGHPASS_MM = 10.0
#: subject / template size ratios tried when no disc is given (adult vertebral heights vary
#: by about +-15 % around the template's)
SCALE_RANGE = (0.85, 1.15)
#: half-size (mm) of the orthogonal planes in which the cord's cross-sectional area is measured
AREA_HALF_MM = 10.0
#: weight of the cord-area profile correlation (cervical enlargement) in the automatic search,
#: relative to the disc-pattern correlation
AREA_WEIGHT = 1.0
#: the C2/C3 disc found without an init may lie this far (mm) beyond the cord's ends
C2C3_TOLERANCE_MM = 2.0
#: plausible subject / template mean cord area ratios (adult cervical cord areas vary by about
#: +-30 % around the template's; thoracic cords are about half as wide as cervical ones)
AREA_RATIO = (2 / 3, 1.5)
#: without an init, alignments that put C2/C3 this many template inter-disc distances (C2/C3
#: to C3/C4) or more beyond the cord's ends are the rival hypotheses "C2/C3 is not in the
#: field of view"
FAR_LEVELS = 2.5
#: weight of the walk's summed (positive) disc correlations when choosing among the best
#: alignments at each scale (without an init)
WALK_WEIGHT = 1.0
#: focal narrowings (compressions) up to this length (mm along the cord) are filled in the
#: cord-area profile before matching it with the template's
COMPRESSION_MM = 15.0
#: ... when they narrow the area by more than this fraction
COMPRESSION_DEPTH = 0.15
#: median cross-sectional area (mm2) below which the -s input is taken as a centerline
MIN_CORD_AREA = 15.0


class VertebraeError(ValueError):
    """Labeling cannot be done as asked (cord too short, no disc found, bad labels...)."""


@dataclass
class LabelingParams:
    """Matching parameters (``-param``); distances in mm.

    The matching band runs from ``shift_AP - size_AP`` to ``shift_AP + size_AP`` anterior of
    the cord centre (the discs and vertebral bodies), ``size_RL`` each side of the
    mid-sagittal plane; patches are ``2*size_IS`` long along the cord.
    """

    shift_AP: float = 17.0
    size_AP: float = 15.0
    size_RL: float = 2.0
    size_IS: float = 8.0
    gaussian_std: float = 1.0
    search: float = 0.35       # half-width of the search window, fraction of the expected distance
    prior: float = 0.5         # weight of the distance-to-prediction penalty
    min_score: float = 0.2     # global alignment below this correlation: no C2-C3 found
    min_margin: float = 0.05   # ... or less than this above one half a level or more away

    @classmethod
    def parse(cls, text: str | None) -> "LabelingParams":
        p = cls()
        if not text:
            return p
        for item in filter(None, text.split(",")):
            key, _, value = item.partition("=")
            if not hasattr(p, key):
                from spinalcordtoolbox.utils.cli import choice_error
                raise choice_error("-param key", key, list(cls.__dataclass_fields__))
            try:
                setattr(p, key, float(value))
            except ValueError:
                raise VertebraeError(f"-param {key}: '{value}' is not a number") from None
        return p


@dataclass
class Init:
    """A known disc: ``value`` (3 = C2/C3) at RPI slice ``z`` (or at a label image's point)."""

    value: int
    z: int | None = None          # RPI slice of the input
    center: bool = False          # the mid slice of the field of view
    label: Image | None = None    # one-label image


def parse_init_text(text: str) -> Init:
    """Contents of ``init_label_vertebrae.txt`` (``-initz 34,3`` or ``-initcenter 3``)."""
    text = text.strip()
    m = re.fullmatch(r"-initz\s+(-?\d+)\s*,\s*(\d+)", text)
    if m:
        return Init(value=int(m.group(2)), z=int(m.group(1)))
    m = re.fullmatch(r"-initcenter\s+(\d+)", text)
    if m:
        return Init(value=int(m.group(1)), center=True)
    raise VertebraeError(f"Init file: expected '-initz <z>,<disc>' or '-initcenter <disc>', got "
                         f"'{text[:60]}'")


# ------------------------------------------------------------------ strips
@dataclass
class Strip:
    """Mid-sagittal band of an image along a cord: ``data[i_s, i_b]`` (NaN outside the image)."""

    s: np.ndarray       # arc lengths of the rows (mm)
    b: np.ndarray       # antero-posterior offsets of the columns (mm, + = anterior)
    data: np.ndarray

    def rows_at(self, s_query) -> np.ndarray:
        """Rows linearly interpolated at arc lengths ``s_query`` (NaN outside)."""
        x = (np.asarray(s_query, float) - self.s[0]) / (self.s[1] - self.s[0])
        i = np.floor(x).astype(int)
        w = (x - i)[:, None]
        ok = (i >= 0) & (i < len(self.s) - 1)
        i = np.clip(i, 0, len(self.s) - 2)
        out = (1 - w) * self.data[i] + w * self.data[i + 1]
        out[~ok] = np.nan
        return out


def sample_strip(img: Image, curve, s_values, params: LabelingParams) -> Strip:
    """The matching band of ``img`` in the planes orthogonal to ``curve`` at ``s_values``."""
    from spinalcordtoolbox.straightening import sample_at_world

    b = np.arange(params.shift_AP - params.size_AP, params.shift_AP + params.size_AP + 1e-6, 1.0)
    a = np.arange(-params.size_RL, params.size_RL + 1e-6, 1.0)
    s_values = np.asarray(s_values, float)
    S, B, A = np.meshgrid(s_values, b, a, indexing="ij")
    world = curve.from_curvilinear(S.ravel(), A.ravel(), B.ravel())
    img3 = img.copy().require_3d("image")
    vals = sample_at_world(img3, world, order=1, cval=np.nan).reshape(S.shape)
    valid = ~np.isnan(vals)
    with np.errstate(invalid="ignore", divide="ignore"):
        data = np.where(valid, vals, 0.0).sum(axis=2) / valid.sum(axis=2)
    # a row is valid only when most of its band lies inside the image
    data[np.mean(np.isnan(vals), axis=2) > 0.5] = np.nan
    return Strip(s_values, b, data)


def features(strip: Strip, sigma_mm: float, mode: str = "intensity") -> Strip:
    """Smoothed strip with its slow trends along the cord removed (``intensity``), its
    absolute derivative along the cord (``gradient``: insensitive to the sign of the disc/bone
    contrast) or its Laplacian (``laplacian``: edges). NaN rows stay NaN."""
    from scipy.ndimage import gaussian_filter, gaussian_filter1d

    data = strip.data.astype(float)
    nan = np.isnan(data)
    fill = np.where(nan, np.nanmean(data) if np.any(~nan) else 0.0, data)
    if sigma_mm > 0:
        fill = gaussian_filter(fill, sigma_mm)
    # keep what varies along the cord (discs vs bodies): the cord, CSF and soft tissues are
    # nearly constant along it and would otherwise dominate every correlation
    fill = fill - gaussian_filter1d(fill, HIGHPASS_MM, axis=0, mode="nearest")
    if mode == "gradient":
        fill = np.abs(np.gradient(fill, axis=0))
    elif mode == "laplacian":
        from scipy.ndimage import laplace
        fill = laplace(fill)
    fill[nan] = np.nan
    return Strip(strip.s, strip.b, fill)


def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    """Correlation over the pixels valid in both (NaN when fewer than half are)."""
    from spinalcordtoolbox.processing.maths import correlation

    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 0.5 * x.size or ok.sum() < 10:
        return np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        return correlation(x[ok], y[ok])


def _ncc_rows(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """:func:`_ncc` of ``x`` with each ``ys[k]`` (same rule for missing pixels), vectorised."""
    ok = ~(np.isnan(ys) | np.isnan(x)[None])
    n = ok.sum(axis=tuple(range(1, ys.ndim))).astype(float)
    xs = np.where(ok, x[None], 0.0)
    yv = np.where(ok, ys, 0.0)
    axes = tuple(range(1, ys.ndim))
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = xs.sum(axis=axes) / n, yv.sum(axis=axes) / n
        shape = (-1,) + (1,) * (ys.ndim - 1)
        dx = np.where(ok, xs - mx.reshape(shape), 0.0)
        dy = np.where(ok, yv - my.reshape(shape), 0.0)
        r = (dx * dy).sum(axis=axes) / np.sqrt((dx * dx).sum(axis=axes) * (dy * dy).sum(axis=axes))
    r[(n < 0.5 * x.size) | (n < 10)] = np.nan
    return r


def patch_score(sub: Strip, tpl: Strip, s_sub: float, s_tpl: float, scale: float, half: float) -> float:
    """Correlation of the subject patch centred at ``s_sub`` with the template patch centred at
    ``s_tpl``, subject distances being ``scale`` times the template's."""
    offsets = np.arange(-half, half + 1e-6, 1.0)
    return _ncc(sub.rows_at(s_sub + offsets), tpl.rows_at(s_tpl + offsets / scale))


# ------------------------------------------------------------------ template
@dataclass
class TemplateProfile:
    strip: Strip                        # features of the template band
    discs: dict                         # {disc value: arc length on the template centerline}
    posterior: dict = field(default_factory=dict)  # {disc value: AP offset (mm) of the posterior tip}
    area: np.ndarray | None = None      # cord cross-sectional area (mm2) at each strip row
    pmj_to_c2c3: float | None = None    # distance (mm) from the C2/C3 disc to the PMJ label (50)


_PROFILE_CACHE: dict = {}


def template_profile(template, contrast: str, params: LabelingParams, mode: str):
    """(The template's band along its centerline with its disc positions, the feature mode
    used: ``gradient`` when the template lacks the contrast). Kept in memory per process:
    sampling the 0.5 mm PAM50 takes seconds, and batch scripts label many subjects."""
    from dataclasses import astuple

    key = (str(template.root), template.prefix, contrast, astuple(params), mode)
    if key not in _PROFILE_CACHE:
        if len(_PROFILE_CACHE) >= 8:  # a few kB each; bounded all the same
            _PROFILE_CACHE.pop(next(iter(_PROFILE_CACHE)))
        _PROFILE_CACHE[key] = _template_profile(template, contrast, params, mode)
    return _PROFILE_CACHE[key]


def _template_profile(template, contrast: str, params: LabelingParams, mode: str):
    from spinalcordtoolbox.labeling.pmj import template_pmj_point
    from spinalcordtoolbox.straightening import centerline_curve, label_arc_lengths, label_points

    available = template.available_contrasts()
    if contrast in available:
        path = template.contrast(contrast)
    elif available:
        path = template.contrast(available[0])
        logger.warning("The template has no %s image: matching the disc pattern of its %s image "
                       "through intensity gradients (contrast-sign independent).", contrast, available[0])
        mode = "gradient"
    else:
        path = template.contrast(contrast)  # raises the explanatory error
    centerline = template.path("centerline", required=False) or template.path("cord")
    curve = centerline_curve(_crop_to_mask(Image(str(centerline))))
    strip = sample_strip(_crop_around(Image(str(path)), curve, params), curve,
                         np.arange(0.0, curve.length + 1e-6, 1.0), params)
    discs_img = Image(str(template.label_file("disc")))
    points = {v: p for v, p in label_points(discs_img).items() if 1 <= v <= 30}
    pmj_to_c2c3 = None
    pmj_point = template_pmj_point(template, contrast)
    if pmj_point is not None and 3 in points:
        pmj_to_c2c3 = float(np.linalg.norm(np.asarray(pmj_point) - np.asarray(points[3])))
    discs = label_arc_lengths(curve, points)
    posterior = {}
    post_path = template.path("label_discPosterior", required=False)
    if post_path is not None:
        pts = {v: p for v, p in label_points(Image(str(post_path))).items() if 1 <= v <= 30}
        if pts:
            values = sorted(pts)
            _, _, bb = curve.to_curvilinear(np.array([pts[v] for v in values]))
            posterior = dict(zip(values, bb))
    area = cord_area_profile(_crop_to_mask(Image(str(template.path("cord"))), margin=2 + AREA_HALF_MM),
                             curve, strip.s)
    return TemplateProfile(features(strip, params.gaussian_std, mode), discs, posterior, area,
                           pmj_to_c2c3), mode


def cord_area_profile(seg: Image, curve, s_values, step=0.5) -> np.ndarray:
    """Cross-sectional area (mm2) of the segmentation in the planes orthogonal to ``curve`` at
    arc lengths ``s_values`` (NaN where the plane holds no cord: outside the segmentation)."""
    from spinalcordtoolbox.straightening import sample_at_world

    a = np.arange(-AREA_HALF_MM, AREA_HALF_MM + 1e-6, step)
    s_values = np.asarray(s_values, float)
    out = np.zeros(len(s_values))
    seg3 = seg.copy().require_3d("segmentation")
    for i in range(0, len(s_values), 64):  # chunks: bounded memory on long cords
        S, A, B = np.meshgrid(s_values[i:i + 64], a, a, indexing="ij")
        vals = sample_at_world(seg3, curve.from_curvilinear(S.ravel(), A.ravel(), B.ravel()),
                               order=1, cval=0.0).reshape(S.shape)
        out[i:i + 64] = np.count_nonzero(vals > 0.5, axis=(1, 2)) * step * step
    out[out == 0] = np.nan
    return out


def without_focal_narrowing(area: np.ndarray, s_values, length_mm=COMPRESSION_MM) -> np.ndarray:
    """The area profile with dips shorter than ``length_mm`` along the cord filled in (a
    morphological closing): a compression narrows the cord over a few millimetres, while the
    cervical enlargement that the matching relies on spans several levels."""
    from scipy.ndimage import grey_closing

    area = np.asarray(area, float).copy()
    ok = np.flatnonzero(np.isfinite(area))
    if len(ok) < 3:
        return area
    step = float(np.median(np.diff(np.asarray(s_values, float))))
    size = int(round(length_mm / step)) | 1
    lo, hi = ok[0], ok[-1] + 1
    inner = area[lo:hi]
    filled = np.interp(np.arange(len(inner)), np.flatnonzero(np.isfinite(inner)),
                       inner[np.isfinite(inner)])
    closed = grey_closing(filled, size=size, mode="constant", cval=0.0)  # ends: not raised
    # only marked narrowings: the profile's own small ups and downs are information
    dip = (closed - filled) > COMPRESSION_DEPTH * closed
    area[lo:hi] = np.where(dip, closed, filled)
    return area


def _crop_to_mask(img: Image, margin=2) -> Image:
    """Bounding box of the non-zero voxels (fitting a centerline on the whole template grid
    costs ~0.5 GB and seconds)."""
    from spinalcordtoolbox.image import crop_image

    idx = np.argwhere(np.asarray(img.data) > 0)
    if not len(idx):
        return img
    lo, hi = idx.min(axis=0) - margin, idx.max(axis=0) + margin
    return crop_image(img, lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])


def _crop_around(img: Image, curve, params: LabelingParams) -> Image:
    """The part of ``img`` the band along ``curve`` can reach (the 0.5 mm PAM50 is 40 MB)."""
    from spinalcordtoolbox.image import crop_image

    reach = max(abs(params.shift_AP) + params.size_AP, params.size_RL) + 3.0
    vox = img.transfo_phys2pix(np.vstack([curve.points + d for d in
                                          (np.array([sx, sy, 0.0]) * reach
                                           for sx in (-1, 1) for sy in (-1, 1))]))
    lo = np.floor(vox.min(axis=0)).astype(int) - 1
    hi = np.ceil(vox.max(axis=0)).astype(int) + 1
    return crop_image(img, lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])


# ------------------------------------------------------------------ detection
@dataclass
class DetectionResult:
    discs: dict                  # {value: subject arc length (mm)}
    scale: float                 # subject / template inter-disc distance
    scores: dict                 # {value: correlation at the chosen position}
    init_value: int
    init_s: float
    auto_init_score: float | None = None
    #: without an init: how much the chosen alignment beats the best one naming the levels
    #: half a level or more differently (the detection's confidence; refused below min_margin)
    auto_margin: float | None = None


def global_alignment(sub: Strip, tpl: TemplateProfile, s_range, scale_dist=1.0, area=None):
    """Find the C2/C3 disc by aligning the whole subject band with the template band: subject
    arc length s maps to template arc length ``offset + s / scale``.

    The score is the correlation of the bands plus, when the subject's cord-area profile
    ``area`` (one value per row of ``sub``) and the template's are known, ``AREA_WEIGHT`` times
    the correlation of the area profiles (the cervical enlargement tells levels apart where the
    disc pattern repeats); alignments where the subject's mean cord area is not within
    ``AREA_RATIO`` of the template's there are anatomically implausible and skipped (a 75 mm2
    cord is not thoracic).

    The C2/C3 disc is taken from the best alignment among those that put the template's C2/C3
    disc within ``C2C3_TOLERANCE_MM`` of the cord's extent ``s_range``. It is rejected (score
    -inf) when an alignment putting C2/C3 clearly outside the field of view (``FAR_LEVELS``
    inter-disc distances or more beyond its ends) scores better, on the whole score and on the
    disc pattern alone: the field of view is then elsewhere in the spine. Alignments putting
    C2/C3 less than that above the top cannot be told apart from a field of view that stops at
    C2/C3 (the C2 body is not visible): they are not used.

    Returns ``(score, margin, far_score, candidates)``: ``score`` of the best alignment;
    ``margin`` how much better it is than the best one (C2/C3 inside) that puts the subject's
    middle at least half a level away (a periodic spine makes one-level shifts the usual
    confusion); ``far_score`` the best score with C2/C3 clearly outside (-inf: none);
    ``candidates`` the best alignment at each scale, ``(score, scale, offset, disc-pattern
    score)``, best first (the first is the best alignment)."""
    lo, hi = s_range
    rows = (sub.s >= lo) & (sub.s <= hi) & ~np.all(np.isnan(sub.data), axis=1)
    s_sub = sub.s[rows]
    x = sub.data[rows]
    if len(s_sub) < 10:
        raise VertebraeError("The cord is too short (under 10 mm inside the image) to label")
    if 3 not in tpl.discs or 4 not in tpl.discs:
        return -np.inf, 0.0, -np.inf, []
    use_area = False
    if area is not None and tpl.area is not None:
        x_area = np.asarray(area, float)[rows]
        # a centerline given as -s has no area to compare
        use_area = np.count_nonzero(~np.isnan(x_area)) >= 10 and np.nanmedian(x_area) >= MIN_CORD_AREA
    if use_area:
        area_ok = ~np.isnan(x_area)
        sub_mean_area = float(np.mean(x_area[area_ok]))
    values = np.array(sorted(tpl.discs), float)
    t_discs = np.array([tpl.discs[v] for v in sorted(tpl.discs)])
    order = np.argsort(t_discs)
    mid = (s_sub[0] + s_sub[-1]) / 2
    t_len = tpl.strip.s[-1]
    t_c2c3, tol = tpl.discs[3], C2C3_TOLERANCE_MM
    far = FAR_LEVELS * abs(tpl.discs[3] - tpl.discs[4])
    # (score, scale, offset, level at the subject's middle, where C2/C3 falls, disc-pattern score)
    results = []
    for scale in np.arange(SCALE_RANGE[0], SCALE_RANGE[1] + 1e-6, 0.025) * scale_dist:
        span = (s_sub[-1] - s_sub[0]) / scale
        offsets = np.arange(-s_sub[0] / scale, t_len - span - s_sub[0] / scale + 1e-6, 1.0)
        c2c3 = (t_c2c3 - offsets) * scale  # subject arc length of the C2/C3 disc
        where = np.full(len(offsets), -1)
        where[(c2c3 > hi + far * scale) | (c2c3 < lo - far * scale)] = 1  # clearly outside
        where[(lo - tol <= c2c3) & (c2c3 <= hi + tol)] = 0  # inside the field of view
        offsets, where = offsets[where >= 0], where[where >= 0]
        if not len(offsets):
            continue
        t_s = (offsets[:, None] + s_sub[None, :] / scale).ravel()
        score = _ncc_rows(x, tpl.strip.rows_at(t_s).reshape(len(offsets), *x.shape))
        band = score.copy()
        if use_area:
            t_a = Strip(tpl.strip.s, np.zeros(1), np.asarray(tpl.area, float)[:, None]).rows_at(t_s)
            t_a = t_a.reshape(len(offsets), len(s_sub))
            with np.errstate(invalid="ignore"):
                ratio = sub_mean_area / np.nanmean(np.where(area_ok, t_a, np.nan), axis=1)
            score_area = _ncc_rows(x_area[:, None], t_a[:, :, None])
            score = score + AREA_WEIGHT * np.nan_to_num(score_area, nan=0.0)
            # anatomically implausible cord size: not a candidate
            score[~((AREA_RATIO[0] <= ratio) & (ratio <= AREA_RATIO[1]))] = np.nan
        keep = np.isfinite(score)
        level = np.interp(offsets + mid / scale, t_discs[order], values[order])
        results.extend(zip(score[keep], np.full(keep.sum(), scale), offsets[keep], level[keep], where[keep],
                           band[keep]))
    res = np.array(results).reshape(-1, 6)
    outside, res = res[res[:, 4] == 1], res[res[:, 4] == 0]
    far_score = float(outside[:, 0].max()) if len(outside) else -np.inf
    if len(outside) and len(res) and outside[:, 5].max() < res[:, 5].max():
        # the disc pattern alone prefers C2/C3 in view: the far alignment won on the cord-area
        # profile only (a narrow cervical cord resembles a thoracic one), which names no level
        far_score = -np.inf
    if not len(res):
        return -np.inf, 0.0, far_score, []
    best = int(np.argmax(res[:, 0]))
    others = np.abs(res[:, 3] - res[best, 3]) >= 0.5
    margin = res[best, 0] - res[others, 0].max() if np.any(others) else np.inf
    candidates = []  # the best alignment at each scale: (score, scale, offset, band score), best first
    for scale in np.unique(res[:, 1]):
        at = res[res[:, 1] == scale]
        k = int(np.argmax(at[:, 0]))
        candidates.append((float(at[k, 0]), float(scale), float(at[k, 2]), float(at[k, 5])))
    candidates.sort(reverse=True)
    return float(res[best, 0]), float(margin), far_score, candidates


def detect_discs(sub: Strip, tpl: TemplateProfile, s_cord, init_value: int, init_s: float | None,
                 params: LabelingParams, scale_dist=1.0, init_approximate=False,
                 area=None) -> DetectionResult:
    """Walk disc by disc from the initial disc (see the module docstring).
    ``init_approximate``: the initial disc is only the one *nearest* to ``init_s``
    (``-initcenter``): it is searched within half an inter-disc distance, without prior.
    ``area``: the subject's cord-area profile on the rows of ``sub`` (automatic search)."""
    s_min, s_max = s_cord
    auto_score = margin = None
    scale = scale_dist
    half = params.size_IS

    def refine(value, predicted, expected, scale, radius=None, prior=params.prior):
        radius = radius or max(3.0, params.search * expected)
        cands = np.arange(predicted - radius, predicted + radius + 1e-6, 0.5)
        best = (-np.inf, predicted, np.nan)
        for c in cands:
            score = patch_score(sub, tpl.strip, c, tpl.discs[value], scale, half)
            if not np.isfinite(score):
                continue
            penalised = score - prior * ((c - predicted) / radius) ** 2
            if penalised > best[0]:
                best = (penalised, c, score)
        return best[1], best[2]

    def walk(init_value, init_s, scale, first_expected, approximate=False):
        """Discs found from the initial one, down then up: ({value: s}, {value: score}, scale)."""
        found, scores = {}, {}
        if approximate:
            near = [abs(tpl.discs[init_value] - tpl.discs[v]) for v in (init_value - 1, init_value + 1)
                    if v in tpl.discs]
            s0, sc0 = refine(init_value, init_s, 0, scale, radius=0.5 * min(near) * scale, prior=0.0)
        else:
            s0, sc0 = refine(init_value, init_s, first_expected, scale)
        found[init_value], scores[init_value] = s0, sc0

        def update_scale():
            vals = sorted(found)
            ratios = [(found[v1] - found[v2]) / (tpl.discs[v1] - tpl.discs[v2])
                      for v1, v2 in zip(vals, vals[1:]) if v2 == v1 + 1]
            return float(np.median(ratios)) if ratios else scale

        for direction in (+1, -1):  # +1: inferior (values increase), -1: superior
            value, s_cur = init_value, found[init_value]
            while True:
                nxt = value + direction
                # C1/C2 is poorly visible and C2 has no fixed height: slices above C2/C3 are C2
                if nxt not in tpl.discs or nxt < 3:
                    break
                expected = abs(tpl.discs[value] - tpl.discs[nxt]) * scale
                predicted = s_cur - direction * expected
                if predicted < s_min - 1 or predicted > s_max + 1:
                    break
                s_new, score = refine(nxt, predicted, expected, scale)
                if not (s_min - 1 <= s_new <= s_max + 1):
                    break
                found[nxt], scores[nxt] = s_new, score
                value, s_cur = nxt, s_new
                scale = update_scale()
        return found, scores, scale

    def start_from(scale, offset):
        """The walk's first disc for an alignment: C2/C3, or C3/C4 when C2/C3 falls just above
        the cord's top end."""
        value, s0 = 3, (tpl.discs[3] - offset) * scale
        if s0 > s_max and 4 in tpl.discs and (tpl.discs[4] - offset) * scale >= s_min:
            value, s0 = 4, (tpl.discs[4] - offset) * scale
        return value, float(np.clip(s0, s_min - 1, s_max + 1))

    if init_s is None:  # no initialisation: align the whole band, take the disc it puts in the FOV
        auto_score, margin, far_score, candidates = global_alignment(sub, tpl, (s_min, s_max),
                                                                     scale_dist, area)
        logger.info("Global alignment with the template: score %.2f (%.2f above the best "
                    "alignment half a level or more away; %.2f with C2-C3 far outside the field "
                    "of view), scale %.2f", auto_score, margin, far_score,
                    candidates[0][1] if candidates else np.nan)
        if np.isfinite(auto_score) and far_score >= auto_score:
            raise VertebraeError(
                f"No C2-C3 disc found automatically: the field of view matches the template "
                f"better without the C2-C3 disc (score {far_score:.2f} vs {auto_score:.2f}); "
                f"automatic labeling needs the C2-C3 disc in the field of view. Give a disc "
                f"with {INIT_FLAGS}.")
        if not np.isfinite(auto_score) or auto_score < params.min_score:
            why = (f"best correlation with the template {auto_score:.2f}" if np.isfinite(auto_score)
                   else "the cord's area fits no position with C2-C3 in the field of view")
            raise VertebraeError(
                f"No C2-C3 disc found automatically ({why}; automatic labeling needs the C2-C3 "
                f"disc in the field of view). Give a disc with {INIT_FLAGS}.")
        if margin < params.min_margin:
            raise VertebraeError(
                f"No C2-C3 disc found automatically: the field of view matches the template "
                f"about as well one level up or down (correlation {auto_score:.2f} vs "
                f"{auto_score - margin:.2f}). Give a disc with {INIT_FLAGS}.")
        # The whole-band score adds the disc pattern and the cord's area profile over the field
        # of view; on a short field of view the smooth area profile can fit a wrong scale best,
        # whose walk then steps between the discs. The area profile names the levels (the
        # offset at each scale); the scale is chosen by the discs: the walk from the best
        # alignment at every scale, keeping the one with the best disc pattern along the band
        # plus summed positive correlations of its discs with the template's disc patches.
        best_walk = None
        for cand_score, cand_scale, cand_offset, cand_band in candidates:
            value, s0 = start_from(cand_scale, cand_offset)
            found, scores, walked_scale = walk(value, s0, cand_scale, 6.0)
            # discs at the cord's ends see part of their patch: no correlation is no evidence
            evidence = float(np.sum(np.clip(np.nan_to_num(list(scores.values())), 0, None)))
            total = cand_band + WALK_WEIGHT * evidence
            logger.debug("Alignment at scale %.3f: score %.2f (disc pattern %.2f), walk from disc %d: "
                         "%s; summed disc correlations %.2f; scale found %.2f; total %.2f", cand_scale,
                         cand_score, cand_band, value,
                         ", ".join(f"{v}: {found[v]:.1f}" for v in sorted(found)), evidence,
                         walked_scale, total)
            if best_walk is None or total > best_walk[0]:
                best_walk = (total, found, scores, walked_scale, value)
        _, found, scores, scale, init_value = best_walk
    else:
        if init_value not in tpl.discs:
            raise VertebraeError(f"Disc value {init_value} is not in the template (discs "
                                 f"{min(tpl.discs)}..{max(tpl.discs)})")
        if not (s_min - 1 <= init_s <= s_max + 1):
            raise VertebraeError(f"The initial disc {init_value} lies outside the segmentation's extent "
                                 f"along the cord")
        found, scores, scale = walk(init_value, init_s, scale, 8.0, approximate=init_approximate)
    top_disc = min(found)
    if auto_score is not None and 4 in tpl.discs and (
            top_disc > 3 or s_max - found[3] < abs(tpl.discs[3] - tpl.discs[4]) * scale):
        logger.warning(
            "The C2-C3 disc found lies %.0f mm below the top of the cord in the image: the C2 body "
            "is not in the field of view, so the naming assumes that the field of view starts at "
            "C2-C3 (one starting lower would be labeled one or two levels high). Check the QC, or "
            "give a disc with %s.", s_max - found.get(3, s_max), INIT_FLAGS)
    return DetectionResult(found, scale, scores, init_value, found[init_value], auto_score, margin)


# ------------------------------------------------------------------ outputs
def _init_arc_length(init: Init, seg: Image, curve) -> float:
    from spinalcordtoolbox.labeling.labels import create_labels_along_seg
    from spinalcordtoolbox.straightening import label_arc_lengths, label_points

    if init.label is not None:
        pts = label_points(init.label)
        if len(pts) != 1:
            raise VertebraeError(f"-initlabel: expected one label, found {len(pts)} "
                                 f"({', '.join(map(str, sorted(pts)))})")
        value, point = next(iter(pts.items()))
        init.value = value
        check_labels_in_seg(init.label, seg, "-initlabel")
        return float(label_arc_lengths(curve, {value: point})[value])
    seg_rpi = seg.copy().change_orientation("RPI")
    zs = np.flatnonzero(np.any(seg_rpi.data, axis=(0, 1)))
    z = int(seg_rpi.data.shape[2] // 2) if init.center else int(init.z)
    if not zs[0] <= z <= zs[-1]:
        raise VertebraeError(
            f"The initial disc slice z={z} (RPI) is outside the segmentation's slices "
            f"(z={zs[0]}..{zs[-1]})")
    lab = create_labels_along_seg(seg, [(z, init.value)])
    return float(label_arc_lengths(curve, label_points(lab))[init.value])


def check_labels_in_seg(labels_img: Image, seg: Image, what="labels"):
    from spinalcordtoolbox.straightening import StraighteningError, check_labels_in_segmentation
    try:
        check_labels_in_segmentation(labels_img, seg)
    except StraighteningError as e:
        raise VertebraeError(f"{what}: {e}") from None


def disc_images(seg: Image, curve, discs: dict, posterior: dict):
    """(disc labels on the cord centre, disc labels at the posterior tip) on ``seg``'s grid."""
    from spinalcordtoolbox.labeling.labels import create_labels

    like = seg.copy().require_3d("segmentation")
    shape = np.array(like.data.shape[:3])
    values = sorted(discs)
    s = np.array([discs[v] for v in values])
    centre = np.rint(like.transfo_phys2pix(curve.from_curvilinear(s, np.zeros_like(s), np.zeros_like(s))))
    b = np.array([posterior.get(v, 0.0) for v in values])
    tip = np.rint(like.transfo_phys2pix(curve.from_curvilinear(s, np.zeros_like(s), b)))
    centre = np.clip(centre, 0, shape - 1).astype(int)
    tip = np.clip(tip, 0, shape - 1).astype(int)
    c_img = create_labels(like, [tuple(p) + (v,) for p, v in zip(centre, values)])
    t_img = create_labels(like, [tuple(p) + (v,) for p, v in zip(tip, values)])
    for img in (c_img, t_img):
        img.data = img.data.astype(np.uint8)
    return c_img, t_img


@dataclass
class LabelingResult:
    labeled_seg: Image
    discs: Image
    detection: DetectionResult | None = None
    curve: object = None


def label_from_discfile(seg: Image, discs: Image) -> LabelingResult:
    """``-discfile``: levels from given disc labels (3 = C2/C3), no detection."""
    from spinalcordtoolbox.labeling.labels import labelize_from_discs

    seg = seg.copy().require_3d("segmentation")
    check_labels_in_seg(discs, seg, "-discfile")
    labeled = labelize_from_discs(seg, discs)
    labeled.data = labeled.data.astype(np.uint8)
    out_discs = discs.copy()
    out_discs.absolutepath = None
    return LabelingResult(labeled, out_discs)


def label_vertebrae(im: Image, seg: Image, contrast: str, template, init: Init | None = None,
                    params: LabelingParams | None = None, scale_dist: float = 1.0,
                    denoise: bool = False, laplacian: bool = False, curve=None,
                    pmj: bool = True) -> LabelingResult:
    """Automatic labeling (see the module docstring). ``curve``: the segmentation's fitted
    centerline when already computed (the straightening). ``pmj``: add the PMJ (label 50) to
    the disc labels when the field of view reaches the brainstem (:func:`find_pmj`)."""
    from spinalcordtoolbox.labeling.labels import labelize_from_discs
    from spinalcordtoolbox.straightening import centerline_curve

    params = params or LabelingParams()
    im = im.copy().require_3d("input image")
    seg = seg.copy().require_3d("segmentation")
    if im.data.shape != seg.data.shape:
        raise VertebraeError(f"The image {im.data.shape} and the segmentation {seg.data.shape} "
                             f"are not on the same grid")
    if not np.any(seg.data):
        raise VertebraeError("The segmentation is empty")
    curve = curve or centerline_curve(seg)
    if curve.length < 10:
        raise VertebraeError(f"The cord is too short to label ({curve.length:.1f} mm along the "
                             f"cord; at least one inter-disc distance, ~15 mm, is needed)")
    mode = "laplacian" if laplacian else "intensity"
    tpl, mode = template_profile(template, contrast, params, mode)
    margin = params.size_IS + 15.0
    img_for_strip = im
    if denoise:
        from scipy.ndimage import median_filter
        img_for_strip = im.copy()
        img_for_strip.data = median_filter(np.asarray(im.data, np.float32), size=3)
    strip = sample_strip(img_for_strip, curve, np.arange(-margin, curve.length + margin + 1e-6, 1.0), params)
    sub = features(strip, params.gaussian_std, mode)
    init_s = None
    init_value = 3
    if init is not None:
        init_s = _init_arc_length(init, seg, curve)
        init_value = init.value
        if init_value not in tpl.discs:
            logger.warning("Disc value %d is not included in the template (discs %d..%d).",
                           init_value, min(tpl.discs), max(tpl.discs))
            raise VertebraeError(f"Disc value {init_value} is not in the template (discs "
                                 f"{min(tpl.discs)}..{max(tpl.discs)})")
    area = without_focal_narrowing(cord_area_profile(seg, curve, strip.s), strip.s) if init is None else None
    det = detect_discs(sub, tpl, (0.0, curve.length), init_value, init_s, params, scale_dist,
                       init_approximate=init is not None and init.center, area=area)
    logger.debug("Discs found (value: mm along the cord from its inferior end): %s; scale %.2f",
                ", ".join(f"{v}: {s:.1f}" for v, s in sorted(det.discs.items())), det.scale)
    centre_img, tip_img = disc_images(seg, curve, det.discs, tpl.posterior)
    labeled = labelize_from_discs(seg, centre_img)
    labeled.data = labeled.data.astype(np.uint8)
    if pmj:
        pmj_img = find_pmj(im, seg, contrast, template, tpl, centre_img)
        if pmj_img is not None:
            tip_img.data[np.asarray(pmj_img.data) == PMJ_VALUE] = PMJ_VALUE
    return LabelingResult(labeled, tip_img, det, curve)


def find_pmj(im: Image, seg: Image, contrast: str, template, tpl: TemplateProfile, discs: Image):
    """The PMJ (label 50) found by :func:`spinalcordtoolbox.labeling.pmj.detect_pmj`, or None.

    Tried only when the template has a PMJ label and the image reaches at least 70 % of the
    template's C2/C3-to-PMJ distance above the C2/C3 disc found; kept only when it lies 50 to
    150 % of that distance above the disc (a match elsewhere is not the PMJ)."""
    from spinalcordtoolbox.labeling import pmj as pmj_mod
    from spinalcordtoolbox.straightening import label_points

    c2c3 = label_points(discs).get(3)
    if tpl.pmj_to_c2c3 is None or c2c3 is None:
        return None
    rpi = im.copy().change_orientation("RPI")
    top = rpi.transfo_pix2phys([[0, 0, rpi.data.shape[2] - 1]])[0][2]
    if top - c2c3[2] < 0.7 * tpl.pmj_to_c2c3:
        logger.info("The field of view does not reach the brainstem: no PMJ label")
        return None
    try:
        out = pmj_mod.detect_pmj(im, contrast, template, seg)
    except pmj_mod.PMJError as e:
        logger.info("No PMJ label: %s", e)
        return None
    point = label_points(out).get(PMJ_VALUE)
    above = point[2] - c2c3[2] if point is not None else np.nan
    if not 0.5 * tpl.pmj_to_c2c3 <= above <= 1.5 * tpl.pmj_to_c2c3:
        logger.warning("PMJ candidate %.0f mm above the C2-C3 disc (template: %.0f mm): not kept",
                       above, tpl.pmj_to_c2c3)
        return None
    logger.info("PMJ found %.0f mm above the C2-C3 disc", above)
    return out


# ------------------------------------------------------------------ straightening files
def straightening_files(im: Image, seg: Image, ofolder: str) -> dict:
    """Write (or re-use) ``straight_ref.nii.gz`` and both warping fields in ``ofolder``.

    ``straightening.cache`` records the content hashes of the segmentation and the image and
    their grid; when it matches and the three files exist, they are re-used (the established
    toolbox's behaviour)."""
    import hashlib

    from spinalcordtoolbox.straightening import resample_through, straighten
    from spinalcordtoolbox.registration.warp import write_warp
    from spinalcordtoolbox.utils.fs import atomic_write_text

    paths = {k: os.path.join(ofolder, f"{k}.nii.gz")
             for k in ("straight_ref", "warp_curve2straight", "warp_straight2curve")}
    cache = os.path.join(ofolder, "straightening.cache")
    seg3 = seg.copy().require_3d("segmentation")
    h = hashlib.sha256(np.ascontiguousarray(seg3.data > 0).tobytes())
    h.update(np.round(seg3.affine, 4).tobytes())
    h.update(np.ascontiguousarray(im.data).tobytes())  # straight_ref holds the straightened image
    key = f"sha256={h.hexdigest()}\nshape={seg3.data.shape[:3]}\n"
    if (os.path.isfile(cache) and open(cache, encoding="utf-8").read() == key
            and all(os.path.isfile(p) for p in paths.values())):
        logger.info("Re-using the straightening in %s (straightening.cache matches)", ofolder)
        return paths
    res = straighten(im, seg)
    straight = resample_through(im.copy().require_3d(), res.straight_ref, res.mapping.dest_to_src, order=1)
    straight.save(paths["straight_ref"])
    write_warp(res.warp_curve2straight, res.straight_ref, paths["warp_curve2straight"])
    write_warp(res.warp_straight2curve, im.copy().require_3d(), paths["warp_straight2curve"])
    atomic_write_text(cache, key)
    return paths


# ------------------------------------------------------------------ entry point
def label(im: Image, seg: Image, contrast: str, *, template_folder=None, init: Init | None = None,
          discs: Image | None = None, params: LabelingParams | None = None, scale_dist=1.0,
          denoise=False, laplacian=False, ofolder: str | None = None) -> LabelingResult:
    """``sct_label_vertebrae``: levels from given ``discs``, or detected (see the module
    docstring). With ``ofolder``, the straightening files are written (or re-used) there."""
    if discs is not None:
        return label_from_discfile(seg, discs)
    from spinalcordtoolbox.registration.template import load_template

    template = load_template(template_folder)
    result = label_vertebrae(im, seg, contrast, template, init=init, params=params,
                             scale_dist=scale_dist, denoise=denoise, laplacian=laplacian)
    if ofolder is not None:  # after detection: nothing is written when it fails
        straightening_files(im, seg, ofolder)
    return result


def disc_slices(discs: Image):
    """[(value, RPI slice)] of a disc label image, superior first."""
    rpi = discs.copy().change_orientation("RPI")
    pts = [(int(round(v)), int(z)) for _, _, z, v in rpi.nonzero_coords()]
    return sorted(pts, key=lambda p: p[0])
