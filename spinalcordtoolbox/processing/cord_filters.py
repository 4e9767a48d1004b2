"""Image filters that follow the spinal cord: smoothing along the cord, sagittal flattening.

``smooth_along_cord`` straightens the image along the cord centerline (curvilinear
coordinates of :mod:`spinalcordtoolbox.straightening`), smooths the straight image with a
Gaussian whose sigma is given per axis of the straight cord (right-left, antero-posterior,
along the cord; default 0, 0, 3 mm: along the cord only, so edges across the cord stay
sharp), and maps the result back onto the input grid. Voxels whose straightened position
falls outside the straight grid keep their input value.

``flatten_sagittal`` translates each axial slice along right-left so that the cord centre
lies on the middle sagittal plane of the image (a visual aid: the cord then appears in a
single sagittal slice; it is not a registration).
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, same_grid

logger = logging.getLogger(__name__)


def _check_grids(im: Image, seg: Image):
    if not same_grid(im, seg):
        raise ImageError(f"The image {im.data.shape[:3]} and the segmentation {seg.data.shape[:3]} are "
                         "not on the same voxel grid")


def smooth_along_cord(im: Image, im_seg: Image, sigma_mm=(0.0, 0.0, 3.0), algo="bspline",
                      smooth=30, order=3) -> Image:
    """Smooth ``im`` in the cord's own frame (see the module docstring); float32, input grid."""
    from scipy import ndimage

    from spinalcordtoolbox.straightening import (CurveMapping, centerline_curve, resample_through,
                                                 straight_reference)

    sigma_mm = [float(s) for s in np.atleast_1d(sigma_mm)]
    if len(sigma_mm) == 1:
        sigma_mm = [sigma_mm[0]] * 3
    if len(sigma_mm) != 3 or any(s < 0 for s in sigma_mm):
        raise ImageError(f"Give one or three sigmas >= 0 (RL, AP, along the cord), got {sigma_mm}")
    im = im.copy().require_3d("input image")
    seg = im_seg.copy().require_3d("segmentation")
    _check_grids(im, seg)
    curve = centerline_curve(seg, algo=algo, smooth=smooth)
    ref, straight = straight_reference(curve, im)
    mapping = CurveMapping(curve, straight)
    data = np.asarray(im.data, dtype=np.float64)
    src = Image(data, hdr=im.hdr, affine=im.affine)
    straightened = resample_through(src, ref, mapping.dest_to_src, order=order)
    sig_vox = [s / p for s, p in zip(sigma_mm, ref.pixdim)]
    smoothed = ndimage.gaussian_filter(np.asarray(straightened.data, np.float64), sig_vox, mode="nearest")
    straightened.data = smoothed.astype(np.float32)
    back = resample_through(straightened, im, mapping.src_to_dest, order=order)
    inside = resample_through(Image(np.ones(ref.data.shape, np.float32), hdr=ref.hdr, affine=ref.affine),
                              im, mapping.src_to_dest, order=1)
    covered = np.asarray(inside.data) > 0.999
    out = np.where(covered, back.data, data).astype(np.float32)
    result = Image(out, hdr=im.hdr, affine=im.affine)
    result.hdr.set_data_dtype(np.float32)
    result.absolutepath = None
    logger.info("Smoothed along the cord (sigma %s mm); %.0f %% of the voxels inside the straight grid",
                ",".join(f"{s:g}" for s in sigma_mm), 100 * covered.mean())
    return result


def flatten_sagittal(im: Image, im_seg: Image, algo="bspline", smooth=30, order=1) -> Image:
    """Each axial slice shifted along right-left to put the cord centre on the middle sagittal
    plane (slices beyond the cord take the shift of the nearest cord slice)."""
    from scipy import ndimage

    from spinalcordtoolbox.centerline.core import get_centerline

    im = im.copy().require_3d("input image")
    seg = im_seg.copy().require_3d("segmentation")
    _check_grids(im, seg)
    if not np.any(seg.data):
        raise ImageError("The segmentation is empty")
    orientation = im.orientation
    rpi = im.copy().change_orientation("RPI")
    seg_rpi = seg.copy().change_orientation("RPI")
    _, arr, _, _ = get_centerline(seg_rpi, algo=algo, smooth=smooth, minmax=True)
    nx, _, nz = rpi.data.shape
    zc, xc = np.asarray(arr[2], float), np.asarray(arr[0], float)
    x_of_z = np.interp(np.arange(nz), zc, xc)   # constant beyond the ends
    data = np.asarray(rpi.data, dtype=np.float64)
    out = np.empty_like(data)
    for z in range(nz):
        out[:, :, z] = ndimage.shift(data[:, :, z], ((nx - 1) / 2 - x_of_z[z], 0), order=order,
                                     mode="nearest")
    if rpi.data.dtype.kind in "iu" and order == 0:
        out = out.astype(rpi.data.dtype)
    else:
        out = out.astype(np.float32)
    result = Image(out, hdr=rpi.hdr, affine=rpi.affine)
    result.hdr.set_data_dtype(out.dtype)
    result.change_orientation(orientation)
    result.absolutepath = None
    return result
