"""Pontomedullary junction (PMJ) detection (the engine of ``sct_detect_pmj``).

Method: 3-D template matching. A block of the template's contrast image around its PMJ label
(label 50 in ``<prefix>_label_disc``, or a ``<prefix>_<contrast>_pmj_manual`` file) is
correlated (normalised cross-correlation) with the input resampled to 2 mm isotropic in RPI,
at three sizes (0.9, 1, 1.1) for head-size differences, then again at 1 mm around that match;
the PMJ is the block centre at the best match. With a cord segmentation, the match must lie
within 15 mm (left-right and antero-posterior) of the segmentation's top end. The detection
is refused (no output) when the image is smaller than the block or when the best correlation
is low: the field of view then does not reach the brainstem. A T1 image without a T1
template is matched against the inverted T2 block.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image

logger = logging.getLogger(__name__)

PMJ_VALUE = 50
#: half-size (mm, RL, AP, IS) of the template block around the PMJ
HALF_BLOCK_MM = (12.0, 24.0, 24.0)
#: below this correlation the image is taken not to contain the brainstem
MIN_CORRELATION = 0.5


class PMJError(ValueError):
    """The PMJ cannot be detected (no template with a PMJ label, FOV without brainstem...)."""


def template_pmj_point(template, contrast: str):
    """World point of the template's PMJ label (50 in ``<prefix>_label_disc``, else in a
    ``<prefix>_<contrast>_pmj_manual`` or ``<prefix>_t2_pmj_manual`` file), or None."""
    from spinalcordtoolbox.straightening import label_points

    candidates = [template.path("label_disc", required=False),
                  template.path(f"{contrast}_pmj_manual", required=False),
                  template.path("t2_pmj_manual", required=False)]
    for path in filter(None, candidates):
        pts = label_points(Image(str(path)))
        if PMJ_VALUE in pts:
            return pts[PMJ_VALUE]
    return None


def template_pmj(template, contrast: str):
    """(template contrast Image, PMJ world point) from a template folder."""
    available = template.available_contrasts()
    if contrast not in available and {"t1", "t2"} & set(available):
        other = "t2" if "t2" in available else "t1"
        logger.warning("The template has no %s image: matching its %s image with inverted "
                       "intensities (CSF and tissue swap brightness between T1 and T2).", contrast, other)
        img, point = template_pmj(template, other)
        img.data = img.data.max() - np.asarray(img.data, np.float32)
        return img, point
    img_path = template.contrast(contrast)
    point = template_pmj_point(template, contrast)
    if point is not None:
        return Image(str(img_path)), point
    raise PMJError(
        f"The template in {template.root} has no PMJ label ({PMJ_VALUE} in "
        f"{template.prefix}_label_disc.nii.gz); this copy is cropped above C1. Give a template "
        f"folder whose image covers the brainstem and holds the PMJ label (-t).")


def resample_iso(img: Image, step=1.0, origin_world=None, shape=None):
    """Linear resampling of a 3-D image on an RPI grid of ``step`` mm (the image's own extent
    unless ``origin_world``/``shape`` are given). Returns (data, affine)."""
    from spinalcordtoolbox.straightening import sample_at_world

    rpi = img.copy().require_3d().change_orientation("RPI")
    if origin_world is None:
        extent = (np.array(rpi.data.shape[:3]) - 1) * np.array(rpi.pixdim[:3])
        shape = np.floor(extent / step).astype(int) + 1
        origin_world = rpi.transfo_pix2phys([[0, 0, 0]])[0]
    affine = np.diag([-step, step, step, 1.0])  # RPI = nibabel LAS
    affine[:3, 3] = origin_world
    ii = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    vox = np.column_stack([a.ravel() for a in ii]).astype(float)
    world = vox @ affine[:3, :3].T + affine[:3, 3]
    data = sample_at_world(rpi, world, order=1).reshape(tuple(shape))
    return data.astype(np.float32), affine


def _best_match(sub, sub_affine, block, factors, allowed):
    """(correlation, block centre in ``sub`` voxels, size factor) of the best match of
    ``block`` scaled by each factor; positions farther than 15 mm (RL/AP) from ``allowed``
    (world point) are excluded."""
    from scipy.ndimage import zoom
    from skimage.feature import match_template

    best = (-np.inf, None, 1.0)
    for factor in factors:
        b = zoom(block, factor, order=1) if factor != 1.0 else block
        if np.any(np.array(b.shape) > np.array(sub.shape)):
            continue
        score = match_template(sub, b)
        if allowed is not None:
            centres = np.meshgrid(*[np.arange(n) + (m - 1) / 2 for n, m in zip(score.shape, b.shape)],
                                  indexing="ij")
            world = np.stack([sub_affine[k, k] * centres[k] + sub_affine[k, 3] for k in range(3)], -1)
            far = np.hypot(world[..., 0] - allowed[0], world[..., 1] - allowed[1]) > 15
            score = np.where(far, -1, score)
        k = np.unravel_index(np.argmax(score), score.shape)
        if score[k] > best[0]:
            best = (float(score[k]), np.array(k) + (np.array(b.shape) - 1) / 2, factor)
    return best


def detect_pmj(im: Image, contrast: str, template, seg: Image | None = None) -> Image:
    """One-voxel image (value 50) at the PMJ on ``im``'s grid; see the module docstring."""
    im3 = im.copy().require_3d("input image")
    tpl_img, pmj_world = template_pmj(template, contrast)
    half = np.array(HALF_BLOCK_MM)
    corner = np.array([1.0, -1.0, -1.0])  # RPI voxel (0, 0, 0) is at world +x, -y, -z

    def block_at(step):
        return resample_iso(tpl_img, step, pmj_world + corner * half,
                            np.floor(2 * half / step).astype(int) + 1)[0]

    # coarse search (2 mm) over the whole image, then 1 mm around the coarse match
    sub, sub_affine = resample_iso(im3, 2.0)
    block = block_at(2.0)
    if np.any(np.array(sub.shape) < np.array(block.shape) * 0.9):
        raise PMJError(f"The field of view ({2 * sub.shape[0]}x{2 * sub.shape[1]}x{2 * sub.shape[2]} "
                       f"mm) is smaller than the brainstem region matched ({2 * half[0]:.0f}x"
                       f"{2 * half[1]:.0f}x{2 * half[2]:.0f} mm): it does not reach the brainstem")
    allowed = None
    if seg is not None:
        seg_rpi = seg.copy().require_3d("segmentation").change_orientation("RPI")
        idx = np.argwhere(seg_rpi.data > 0)
        if not len(idx):
            raise PMJError("The segmentation is empty")
        top = idx[idx[:, 2] >= idx[:, 2].max() - 2].mean(axis=0)
        allowed = seg_rpi.transfo_pix2phys([top])[0]
    score, centre, factor = _best_match(sub, sub_affine, block, (0.9, 1.0, 1.1), allowed)
    if centre is not None:
        coarse = sub_affine[:3, :3] @ centre + sub_affine[:3, 3]
        reach = half * factor + 6.0
        sub, sub_affine = resample_iso(im3, 1.0, coarse + corner * reach,
                                       np.floor(2 * reach).astype(int) + 1)
        score, centre, _ = _best_match(sub, sub_affine, block_at(1.0),
                                       (factor - 0.05, factor, factor + 0.05), allowed)
    if centre is None or score < MIN_CORRELATION:
        raise PMJError(f"No pontomedullary junction found (best correlation with the template's "
                       f"brainstem {score:.2f} < {MIN_CORRELATION}): the field of view does not "
                       f"seem to reach the brainstem")
    world = sub_affine[:3, :3] @ centre + sub_affine[:3, 3]
    vox = np.rint(im3.transfo_phys2pix([world])[0]).astype(int)
    vox = np.clip(vox, 0, np.array(im3.data.shape[:3]) - 1)
    logger.info("PMJ at voxel %s (correlation %.2f)", tuple(int(v) for v in vox), score)
    out = Image(np.zeros(im3.data.shape[:3], np.uint8), hdr=im3.hdr.copy(), affine=im3.affine)
    out.hdr.set_data_dtype(np.uint8)
    out.data[tuple(vox)] = PMJ_VALUE
    return out
