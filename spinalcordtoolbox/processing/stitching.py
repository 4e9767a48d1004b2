"""Stitching of overlapping acquisitions (chunks of one spine) into one volume.

Method (ours; the established toolbox uses Lavdas, Glocker et al. 2019): every chunk is
resampled (linear) onto one grid that spans the union of the chunks' fields of view, with the
first chunk's orientation and voxel size. Chunks are ordered along the grid axis closest to
inferior-superior. Intensities are matched chunk by chunk from the first one: in the voxels
two neighbouring chunks both cover (and where both are above their 5th percentile, i.e. not
background), the gain that brings the new chunk onto the already matched one is the
least-squares factor sum(a*b)/sum(b*b). In the overlap the two chunks are then blended with
weights that ramp linearly across it, so no seam is left; outside any chunk the result is 0.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

logger = logging.getLogger(__name__)


def _union_grid(images: list[Image]):
    """Shape and affine of a grid with the first image's axes and voxel size, covering all."""
    ref = images[0]
    inv = np.linalg.inv(ref.affine)
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for im in images:
        n = np.array(im.data.shape[:3]) - 1
        corners = np.array([[i, j, k] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])], float)
        world = im.transfo_pix2phys(corners)
        vox = (inv[:3, :3] @ world.T + inv[:3, 3:4]).T
        lo = np.minimum(lo, vox.min(axis=0))
        hi = np.maximum(hi, vox.max(axis=0))
    lo = np.floor(lo + 1e-3)
    hi = np.ceil(hi - 1e-3)
    shape = tuple(int(h - lo_ + 1) for lo_, h in zip(lo, hi))
    shift = np.eye(4)
    shift[:3, 3] = lo
    return shape, ref.affine @ shift


def _si_axis(affine) -> int:
    """The voxel axis most aligned with the world's inferior-superior axis."""
    return int(np.argmax(np.abs(affine[2, :3]) / np.linalg.norm(affine[:3, :3], axis=0)))


def _ramp(cover_a, cover_b, axis):
    """Weight of chunk b in the overlap: 0 on a's side, 1 on b's side, linear in between."""
    both = cover_a & cover_b
    w = cover_b.astype(np.float64)
    if not both.any():
        return w
    idx = np.nonzero(both.any(axis=tuple(a for a in range(3) if a != axis)))[0]
    first, last = idx[0], idx[-1]
    only_b = cover_b & ~cover_a
    # which end of the overlap is b's: where b continues alone
    b_pos = np.nonzero(only_b.any(axis=tuple(a for a in range(3) if a != axis)))[0]
    b_after = (b_pos.mean() > last) if b_pos.size else True
    t = np.linspace(0, 1, last - first + 3)[1:-1]
    t = t if b_after else t[::-1]
    shape = [1, 1, 1]
    shape[axis] = len(t)
    ramp = np.zeros(cover_b.shape[axis])
    ramp[first:last + 1] = t
    w[both] = np.broadcast_to(ramp.reshape([-1 if a == axis else 1 for a in range(3)]), w.shape)[both]
    return w


def stitch_images(images: list[Image], match_intensity=True) -> Image:
    """One volume from overlapping chunks (see the module docstring); float32, on the union grid."""
    from spinalcordtoolbox.resampling import resample_to_grid

    if len(images) < 2:
        raise ImageError("Stitching needs at least two images")
    images = [im.copy().require_3d(f"image {i + 1}") for i, im in enumerate(images)]
    shape, affine = _union_grid(images)
    if np.prod(shape) > 2_000_000_000 // 8:
        raise ImageError(f"The stitched grid {shape} would be too large: are the images of one subject?")
    axis = _si_axis(affine)
    moved, covers = [], []
    for im in images:
        ones = Image(np.ones(im.data.shape, np.float32), hdr=im.hdr, affine=im.affine)
        moved.append(np.asarray(resample_to_grid(im, shape, affine, "linear").data, np.float64))
        covers.append(np.asarray(resample_to_grid(ones, shape, affine, "linear").data) > 0.999)
    centres = [np.nonzero(c.any(axis=tuple(a for a in range(3) if a != axis)))[0].mean() for c in covers]
    order = np.argsort(centres)
    out = moved[order[0]].copy()
    cover = covers[order[0]].copy()
    gains = {int(order[0]): 1.0}
    for k in order[1:]:
        data, cov = moved[k], covers[k]
        both = cover & cov
        if not both.any():
            logger.warning("Image %d does not overlap the images before it: no intensity matching, no blending",
                           k + 1)
            gain = 1.0
        elif match_intensity:
            a, b = out[both], data[both]
            keep = (a > np.percentile(a, 5)) & (b > np.percentile(b, 5))
            a, b = a[keep], b[keep]
            denom = float(np.sum(b * b))
            gain = float(np.sum(a * b) / denom) if denom > 0 else 1.0
        else:
            gain = 1.0
        gains[int(k)] = gain
        w = _ramp(cover, cov, axis)
        out = np.where(cov, (1 - w) * np.where(cover, out, 0) + w * gain * data, out)
        out[cov & ~cover] = gain * data[cov & ~cover]
        cover |= cov
    logger.info("Intensity gains applied: %s", ", ".join(f"image {i + 1}: {gains[i]:.4f}" for i in sorted(gains)))
    result = Image(out.astype(np.float32), hdr=images[0].hdr, affine=affine)
    result.hdr.set_data_dtype(np.float32)
    result.absolutepath = None
    return result
