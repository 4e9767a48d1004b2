"""sct_propseg's pipeline: reorient/resample, find the cord centre, fit the tube, bring the mask back.

Works on images in any orientation: the work copy is in the toolbox's RPI orientation (axial
slices along the 3rd axis), resampled in-plane to square pixels when needed; the segmentation
and centerline are returned on the input's exact grid and header.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, empty_like
from spinalcordtoolbox.propseg.detect import AREA_RANGE_MM2, POLARITY, detect_cord_centres
from spinalcordtoolbox.propseg.surface import fit_tube, rasterise

logger = logging.getLogger(__name__)

CONTRASTS = tuple(POLARITY)
#: cnn centerline detectors exist for these contrasts (spinalcordtoolbox.pretrained.centerline)
CNN_CONTRASTS = ("t2", "t2s", "dwi")
#: the ring detector always returns a path; below this mean surface consistency (fraction of the rays
#: that found a cord/CSF boundary whose boundary agrees with the smooth tube) it is not a cord.
#: Measured with the right -c: t2 1.0, t1w 0.96, t2s 0.94, mt1 1.0, the robustness set's cords
#: 0.92 (t2s cropped) and above; without a cord: noise 0.47 (t1), crops of t2 away from the cord
#: 0.56 (t2, front) / 0.73-0.81 (t1, front and right side). (Counting rays without a boundary as
#: disagreeing, as before, gave T2*/MT cords touching the canal wall 0.76-0.82 and refused them.)
MIN_CONSISTENCY = 0.87
#: a slice at an end of the path whose agreeing rays are fewer than this fraction of all its rays is
#: not cord (see END_RUN_MM; the limit and measure used before on the whole path)
MIN_SLICE_CONSISTENCY = 0.8
#: the same check where the centre comes from the CNN or the user, who may be fooled by noise:
#: real cords 0.80 (t2s_uncropped) to 1.0; the t2 CNN on pure noise 0.50, the dwi CNN on a crop
#: of t2 without the cord 0.53 (measured counting rays without a boundary as disagreeing; the
#: current measure is higher on cords and within 0.02 of it on noise, where nearly every ray finds one)
MIN_CONSISTENCY_GUIDED = 0.7
#: the cord's ends cut that way leave a good part of the path: where the contour holds on fewer than
#: this fraction of the slices followed, it held on a few slices by chance (crops of t2 without a
#: cord, -c t2/t2s: 0 and 6 of 55 slices; the thick-slice fMRI mean of sct_testing_data, whose path
#: left the cord for the vertebral body on 3 slices: 2 of 5)
MIN_HELD_FRACTION = 0.25
#: slices at an end of the image whose contour fails the consistency check are cut (the cord ends
#: there: conus, brain) when they span at least this length
END_RUN_MM = 10.0


#: a slice's contour area above this multiple of the median slice's is taken as a leak ...
SWOLLEN_AREA = 1.5
#: ... and its rays are capped at this multiple of the same ray's median over the other slices
SWOLLEN_RAY = 1.2
_HINT = ("Try giving the cord's position: -init-centerline <centerline or segmentation> (e.g. from "
         "'sct_get_centerline -method viewer'), or -init-mask <mask with a few points on the cord>, or "
         "-init <slice> with -radius <cord radius in mm>")


class NoCordError(ImageError):
    """No spinal cord could be found in the image."""


def _work_image(im: Image) -> tuple[Image, tuple[float, float]]:
    """RPI copy with square in-plane pixels (the finer of the two spacings)."""
    work = im.copy().change_orientation("RPI")
    work.data = work.data.astype(np.float32)
    px, py, _ = work.pixdim
    target = min(px, py)
    factors = (px / target, py / target)
    if max(factors) < 1.1:
        return work, (1.0, 1.0)
    from scipy.ndimage import map_coordinates

    shape = (int(round(work.data.shape[0] * factors[0])), int(round(work.data.shape[1] * factors[1])),
             work.data.shape[2])
    grid = np.meshgrid(np.arange(shape[0]) / factors[0], np.arange(shape[1]) / factors[1],
                       np.arange(shape[2]), indexing="ij")
    data = map_coordinates(work.data, grid, order=1, mode="nearest").astype(np.float32)
    affine = work.affine @ np.diag([1 / factors[0], 1 / factors[1], 1, 1])
    hdr = work.hdr.copy()
    hdr.set_data_shape(shape)
    hdr.set_zooms((target, target, work.pixdim[2]) + tuple(work.hdr.get_zooms()[3:]))
    return Image(data, hdr=hdr, affine=affine), factors


def _centres_from_points(points_vox: np.ndarray, nz: int) -> dict:
    """{slice: (x, y)} mean in-plane position of points (work voxel coords) per slice."""
    out = {}
    zs = np.rint(points_vox[:, 2]).astype(int)
    for z in np.unique(zs):
        if 0 <= z < nz:
            out[int(z)] = tuple(points_vox[zs == z, :2].mean(axis=0))
    return out


def _points_in_work(mask: Image, work: Image) -> np.ndarray:
    mask = mask.copy().require_3d("initialisation image")
    vox = np.argwhere(mask.data > 0)
    if not len(vox):
        raise ImageError("The initialisation image is empty")
    return work.transfo_phys2pix(mask.transfo_pix2phys(vox))


def _rein_in_swollen_slices(R: np.ndarray) -> np.ndarray:
    """Slices whose contour encloses more than ``SWOLLEN_AREA`` times the median slice's area
    (a contour that leaked where no CSF separates the cord from the tissue behind it, as on the
    lowest slices of thick-slice MT) have each ray capped at ``SWOLLEN_RAY`` times the median
    radius of that ray over the other slices (the cord's own shape). Needs >= 3 slices."""
    held = np.nonzero(np.isfinite(R[:, 0]))[0]
    if len(held) < 3:
        return R
    area = np.mean(R[held] ** 2, axis=1)
    swollen = held[area > SWOLLEN_AREA * np.median(area)]
    if not len(swollen):
        return R
    others = np.setdiff1d(held, swollen)
    typical = np.median(R[others], axis=0)
    R = R.copy()
    R[swollen] = np.minimum(R[swollen], SWOLLEN_RAY * typical)
    logger.info("Contour reined in on %d slice(s) whose area was over %.1f x the median slice's",
                len(swollen), SWOLLEN_AREA)
    return R


def _interpolate_centres(known: dict, nz: int) -> np.ndarray:
    """(nz, 2) centres, linearly interpolated between known slices, NaN outside their range."""
    centres = np.full((nz, 2), np.nan)
    if not known:
        return centres
    zs = np.array(sorted(known))
    xy = np.array([known[z] for z in zs])
    inside = np.arange(zs[0], zs[-1] + 1)
    centres[inside, 0] = np.interp(inside, zs, xy[:, 0])
    centres[inside, 1] = np.interp(inside, zs, xy[:, 1])
    return centres


def _cnn_centres(work: Image, contrast: str):
    """Sub-voxel centres from the CNN detector; None when it cannot run (module or weights missing)."""
    try:
        from spinalcordtoolbox.pretrained.centerline import CordNotFoundError, detect_centerline_points
    except ImportError as e:
        logger.warning("CNN centerline detector unavailable (%s); using the ring detector", e)
        return None
    try:
        _, points = detect_centerline_points(work, contrast)  # work is RPI: same grid back
    except CordNotFoundError as e:
        logger.info("The CNN centerline detector found no cord (%s); using the ring detector alone", e)
        return None
    except Exception as e:  # weights not installed (offline), ...
        logger.warning("CNN centerline detection failed (%s); using the ring detector", e)
        return None
    return _centres_from_points(points, work.data.shape[2])


def propseg(im: Image, contrast: str, init_centerline: Image | None = None, init_mask: Image | None = None,
            init_z: float | None = None, radius: float = 4.0, use_cnn=True) -> tuple[Image, Image]:
    """Segment the spinal cord of ``im``; returns (segmentation, centerline) on ``im``'s grid."""
    if contrast not in CONTRASTS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("contrast", contrast, CONTRASTS)
    if not 1.0 <= radius <= 15.0:
        raise ValueError(f"-radius must be between 1 and 15 mm, got {radius}")
    im = im.copy().require_3d("input image")
    if min(im.data.shape) < 2:
        raise ImageError(f"The input must be a 3-D volume (got shape {im.data.shape}: a single slice)")
    if not np.isfinite(im.data).all():
        raise ImageError("The input image contains NaN or infinite values")
    if float(np.ptp(im.data)) == 0:
        raise NoCordError("The input image is constant: no spinal cord to segment")
    work, factors = _work_image(im)
    nz = work.data.shape[2]
    pixdim = work.pixdim

    if init_centerline is not None:
        known = _centres_from_points(_points_in_work(init_centerline, work), nz)
        if len(known) >= 5 and len(known) >= 0.5 * (max(known) - min(known) + 1):
            # a dense centerline (another tool's output) whose centre jumps sideways on a few
            # slices has locked onto another structure there: those slices are interpolated
            # (sparse clicks are trusted as given: their neighbours may be far apart)
            from collections import defaultdict

            from spinalcordtoolbox.propseg.detect import reject_jumps
            step = max(1.5, np.tan(np.radians(20)) * pixdim[2])
            known, _ = reject_jumps(known, defaultdict(list), pixdim, radius, step)
        source = "the given centerline"
        guided = True
    else:
        anchors, bonus, guided = {}, 10.0, init_mask is not None
        if init_mask is not None:
            anchors = _centres_from_points(_points_in_work(init_mask, work), nz)
        if init_z is not None:
            z = int(round(init_z * (nz - 1))) if 0 < init_z < 1 else int(init_z)
            if not 0 <= z < nz:
                raise ValueError(f"-init {init_z} is outside the image's {nz} axial slices")
            from spinalcordtoolbox.propseg.detect import cord_score
            s = cord_score(work.data[:, :, z], pixdim, POLARITY[contrast], radius)
            anchors.setdefault(z, tuple(float(v) for v in np.unravel_index(np.argmax(s), s.shape)))
        source = "the cord/CSF ring detector"
        if not anchors and use_cnn and contrast in CNN_CONTRASTS:
            # the network's per-slice guesses are one more piece of evidence of the global path, not
            # the answer: a guess that jumps off the cord loses against a smooth path through the
            # image's own cord candidates
            anchors, bonus = _cnn_centres(work, contrast) or {}, 1.0
            if anchors:
                source = f"the ring detector guided by the {contrast} CNN centerline detector"
        known, changed = detect_cord_centres(work.data, pixdim, contrast, radius, anchors or None,
                                             anchor_bonus=bonus)
        if changed:
            logger.info("%d slice(s) jumped away from their neighbours and were re-detected", changed)
        if not known:
            raise NoCordError(f"No spinal cord found in the image: no region surrounded by CSF of the "
                              f"expected {contrast} contrast in any slice. {_HINT}")
    centres = _interpolate_centres(known, nz)
    logger.info("Cord centre found on %d of %d axial slices by %s", int(np.isfinite(centres[:, 0]).sum()),
                nz, source)
    R, centres, consistency, coverage = fit_tube(work.data, pixdim, centres, POLARITY[contrast], radius)
    rows = np.isfinite(centres[:, 0])
    # a cord that ends inside the field of view (the conus; the brain): slices at either end whose
    # contour does not hold are not cord. Per slice, a ray without a boundary counts against it: a
    # dark structure beside the cord (the vertebral body in a thick-slice EPI) has a partial contour
    # that agrees with itself, a cord is surrounded by CSF on most sides
    # the CNN's agreement is evidence too: its measured limit applies (as before the global path)
    limit = MIN_CONSISTENCY_GUIDED if guided or "CNN" in source else MIN_CONSISTENCY
    ok = consistency * coverage >= min(limit, MIN_SLICE_CONSISTENCY)
    if rows.any() and not guided:
        idx = np.nonzero(rows)[0]
        for end in (idx, idx[::-1]):
            run = 0
            while run < len(end) - 1 and not ok[end[run]]:
                run += 1
            # only a run of failing slices at least 10 mm long (and 3 slices): a few poor slices are
            # not the end of the cord
            if run >= 3 and run * pixdim[2] >= END_RUN_MM:
                rows[end[:run]] = False
        R[~rows] = np.nan
    followed = int(np.isfinite(centres[:, 0]).sum())
    mean_consistency = float(np.mean(consistency[rows])) if rows.any() else 0.0
    logger.info("Surface consistency %.2f on %d of the %d slices followed", mean_consistency, int(rows.sum()),
                followed)
    if rows.sum() < MIN_HELD_FRACTION * followed:
        raise NoCordError(
            f"No spinal cord found in the image (no region surrounded by CSF of the expected {contrast} "
            f"contrast: the contour holds on only {int(rows.sum())} of the {followed} slices followed). "
            f"Check -c. {_HINT}")
    if mean_consistency < limit:
        raise NoCordError(
            f"No spinal cord found in the image (no region surrounded by CSF of the expected {contrast} "
            f"contrast: contour consistency {mean_consistency:.2f} < {limit}). Check -c. {_HINT}")
    area = np.full(nz, np.nan)  # mm2, NaN where no contour
    rows = np.isfinite(R[:, 0])
    area[rows] = np.pi * np.mean(R[rows] ** 2, axis=1)
    bad = ~((area >= AREA_RANGE_MM2[0]) & (area <= AREA_RANGE_MM2[1]))
    if np.isfinite(area).any() and bad[np.isfinite(area)].any():
        logger.warning("Dropped %d slice(s) with an implausible cord area", int(bad[np.isfinite(area)].sum()))
    R[bad] = np.nan
    if not np.isfinite(R[:, 0]).any():
        raise NoCordError("No spinal cord found: no slice has a plausible cord contour")
    R = _rein_in_swollen_slices(R)
    mask = rasterise(work.data.shape, pixdim, centres, R)
    ctl = np.zeros(work.data.shape, dtype=np.uint8)
    for z in np.nonzero(np.isfinite(R[:, 0]))[0]:
        x, y = np.clip(np.rint(centres[z]), 0, np.array(work.data.shape[:2]) - 1).astype(int)
        ctl[x, y, z] = 1
    seg_rpi = _to_rpi_grid(mask, factors, im, "mask")
    ctl_rpi = _to_rpi_grid(ctl, factors, im, "points")
    return _to_input(seg_rpi, im), _to_input(ctl_rpi, im)


def _to_rpi_grid(data: np.ndarray, factors, im: Image, kind: str) -> np.ndarray:
    """From the (resampled) work grid back to the RPI grid of ``im``."""
    rpi_shape = im.copy().change_orientation("RPI").data.shape
    if factors == (1.0, 1.0):
        return data
    if kind == "points":
        out = np.zeros(rpi_shape, dtype=np.uint8)
        for x, y, z in np.argwhere(data > 0):
            out[min(int(round(x / factors[0])), rpi_shape[0] - 1),
                min(int(round(y / factors[1])), rpi_shape[1] - 1), z] = 1
        return out
    from scipy.ndimage import map_coordinates

    grid = np.meshgrid(np.arange(rpi_shape[0]) * factors[0], np.arange(rpi_shape[1]) * factors[1],
                       np.arange(rpi_shape[2]), indexing="ij")
    return (map_coordinates(data.astype(np.float32), grid, order=1, mode="nearest") >= 0.5).astype(np.uint8)


def _to_input(data_rpi: np.ndarray, im: Image) -> Image:
    rpi = im.copy().change_orientation("RPI")
    out = empty_like(rpi, data_rpi.astype(np.uint8)).change_orientation(im.orientation)
    return empty_like(im, out.data)
