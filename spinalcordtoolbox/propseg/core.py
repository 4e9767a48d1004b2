"""sct_propseg's pipeline: reorient/resample, find the cord centre, fit the tube, bring the mask back.

Works on images in any orientation: the work copy is in the toolbox's RPI orientation (axial
slices along the 3rd axis), resampled in-plane to square pixels when needed; the segmentation
and centerline are returned on the input's exact grid and header.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, empty_like
from spinalcordtoolbox.propseg.detect import POLARITY, detect_cord_centres
from spinalcordtoolbox.propseg.surface import fit_tube, rasterise

logger = logging.getLogger(__name__)

CONTRASTS = tuple(POLARITY)
#: cnn centerline detectors exist for these contrasts (spinalcordtoolbox.pretrained.centerline)
CNN_CONTRASTS = ("t2", "t2s", "dwi")
#: contrasts on which the ring detector finds the cord unaided (t2, t1w, dwi_mean of the test
#: data). On T2* (t2s, mt1) it locks onto the wrong structure: the grey matter is bright inside
#: the cord, so it is not used there without -init-mask / -init.
RING_CONTRASTS = ("t1", "t2", "dwi")
#: the ring detector always returns a path; below this mean surface consistency (fraction of rays
#: whose own boundary agrees with the smooth tube) it is not a cord. Measured with the right -c:
#: t2 0.98, t1w 0.91, mt1 0.89, dwi_mean 1.0; without a cord: noise 0.28 (t2) / 0.49 (t1), crops
#: of t2 away from the cord 0.45-0.58 (t2) / 0.70-0.73 (t1); the ring detector's wrong answer on
#: t2s (cord missed) 0.70.
MIN_CONSISTENCY = 0.8
#: the same check where the centre comes from the CNN or the user, who may be fooled by noise:
#: real cords 0.80 (t2s_uncropped) to 1.0; the t2 CNN on pure noise 0.50, the dwi CNN on a crop
#: of t2 without the cord 0.53
MIN_CONSISTENCY_GUIDED = 0.7
#: plausible cord cross-sectional areas (mm2) for an adult human cord, C1 to the conus
AREA_RANGE_MM2 = (8.0, 250.0)


#: appended to every "no cord" error: what the user can do about it
WHAT_TO_TRY = ("Check -c (the contrast), then give the cord's position: -init-centerline <file> "
               "(e.g. from sct_get_centerline -method cnn) or -init-mask <file> (a few points on "
               "the cord, marked in a viewer such as FSLeyes or ITK-SNAP and saved as a mask)")


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


def reject_jumps(known: dict, pixdim, max_dev_mm: float, window=5) -> dict:
    """Drop the centres that jump away from their neighbours (farther than ``max_dev_mm`` from
    the running median of ``window`` slices); they are then interpolated from the others.

    A detector may lock onto another structure on a few slices (a vessel, the edge of the field
    of view); the cord itself moves smoothly from slice to slice."""
    if len(known) < 3:
        return known
    zs = np.array(sorted(known))
    xy = np.array([known[z] for z in zs], dtype=float) * np.asarray(pixdim[:2])
    half = window // 2
    keep = {}
    for k, z in enumerate(zs):
        nb = [j for j in range(max(0, k - half), min(len(zs), k + half + 1)) if j != k]
        ref = np.median(xy[nb], axis=0)
        if np.hypot(*(xy[k] - ref)) <= max_dev_mm:
            keep[int(z)] = known[z]
    if len(keep) < len(known):
        logger.warning("Centre rejected on %d slice(s) that jump away from their neighbours (%s); "
                       "interpolated from the others", len(known) - len(keep),
                       sorted(set(int(z) for z in zs) - set(keep)))
    return keep if len(keep) >= 2 else known


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
        raise NoCordError(f"No spinal cord found in the image: {e}. {WHAT_TO_TRY}") from None
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
        source = "the given centerline"
    else:
        known = None
        if init_mask is None and init_z is None and use_cnn and contrast in CNN_CONTRASTS:
            known = _cnn_centres(work, contrast)
            source = f"the {contrast} CNN centerline detector"
        if not known:
            if contrast not in RING_CONTRASTS and init_mask is None and init_z is None:
                raise ValueError(
                    f"The {contrast} cord centre needs the CNN centerline detector (install its weights: "
                    f"'sct_download_data -d deepseg_sc_models'), or give -init-centerline or -init-mask")
            anchors = {}
            if init_mask is not None:
                anchors = _centres_from_points(_points_in_work(init_mask, work), nz)
            if init_z is not None:
                z = int(round(init_z * (nz - 1))) if 0 < init_z < 1 else int(init_z)
                if not 0 <= z < nz:
                    raise ValueError(f"-init {init_z} is outside the image's {nz} axial slices")
                from spinalcordtoolbox.propseg.detect import cord_score
                s = cord_score(work.data[:, :, z], pixdim, POLARITY[contrast], radius)
                anchors.setdefault(z, tuple(float(v) for v in np.unravel_index(np.argmax(s), s.shape)))
            path, _ = detect_cord_centres(work.data, pixdim, contrast, radius, anchors or None)
            known = {z: tuple(path[z]) for z in range(nz)}
            source = "the cord/CSF ring detector"
    known = reject_jumps(known, pixdim, max_dev_mm=max(2.5 * radius, 2 * pixdim[2]))
    centres = _interpolate_centres(known, nz)
    logger.info("Cord centre found on %d of %d axial slices by %s", int(np.isfinite(centres[:, 0]).sum()),
                nz, source)
    R, centres, consistency = fit_tube(work.data, pixdim, centres, POLARITY[contrast], radius)
    logger.info("Surface consistency %.2f", float(np.mean(consistency[np.isfinite(centres[:, 0])])))
    limit = MIN_CONSISTENCY if source == "the cord/CSF ring detector" else MIN_CONSISTENCY_GUIDED
    if np.mean(consistency[np.isfinite(centres[:, 0])]) < limit:
        raise NoCordError(
            f"No spinal cord found in the image (no region surrounded by CSF of the expected {contrast} "
            f"contrast). {WHAT_TO_TRY}")
    area = np.full(nz, np.nan)  # mm2, NaN where no contour
    rows = np.isfinite(R[:, 0])
    area[rows] = np.pi * np.mean(R[rows] ** 2, axis=1)
    bad = ~((area >= AREA_RANGE_MM2[0]) & (area <= AREA_RANGE_MM2[1]))
    if np.isfinite(area).any() and bad[np.isfinite(area)].any():
        logger.warning("Dropped %d slice(s) with an implausible cord area", int(bad[np.isfinite(area)].sum()))
    R[bad] = np.nan
    if not np.isfinite(R[:, 0]).any():
        raise NoCordError(f"No spinal cord found: no slice has a plausible cord contour. {WHAT_TO_TRY}")
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
