"""Multiple-sclerosis lesion segmentation with the deepseg_lesion 3-D U-Nets (Gros et al. 2019).

Pipeline of the published method: RPI, in-plane 0.5 mm; the cord centerline (the cnn
detector, or a given mask); a 48 x 48 crop per slice around it; Nyul-style intensity
standardisation onto learned landmarks; 0.5 mm isotropic; 48^3 patches stacked along the
cord; per-model standardisation; p > 0.1; then back through every step to the input's grid.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid, empty_like

logger = logging.getLogger(__name__)

PATCH = 48
LESION_SPACING_MM = 0.5
LESION_THRESHOLD = 0.1
# (mean, std) of the standardised training patches of each model
PATCH_STATS = {"t2": (871.309, 557.916), "t2_ax": (835.592, 528.386), "t2s": (1011.31, 678.985)}
# intensities the 1st, 10th, ..., 90th, 99th percentiles of the cord crop are mapped onto
NYUL_LANDMARKS = {
    "t2": (0.0, 136.832187, 312.158435, 448.968030, 568.657779, 696.671586, 859.221138, 1074.463414,
           1373.289174, 1811.522669, 2611.0),
    "t2_ax": (0.0, 112.195357, 291.611185, 446.727066, 581.103970, 702.979079, 833.318257, 1011.856313,
              1268.801813, 1687.137075, 2611.0),
    "t2s": (0.0, 123.246969, 226.422561, 338.361023, 532.341924, 788.693675, 1096.975553, 1407.979466,
            1716.524530, 2079.788451, 2611.0),
}
CENTERLINE_CONTRAST = {"t2": "t2", "t2_ax": "t2", "t2s": "t2s"}


def _centres_from_mask(ctl: Image, work: Image, res: Image):
    """Per-slice cord centres (x, y) on ``res``'s grid from a centerline/segmentation mask on
    ``work``'s grid (both RPI, same slices)."""
    from spinalcordtoolbox.pretrained.preprocessing import slice_centres_of_mass

    work2res = np.linalg.inv(res.affine) @ work.affine
    centres = []
    for z, c in enumerate(slice_centres_of_mass(np.asarray(ctl.data, dtype=float))):
        if c is None:
            centres.append(None)
            continue
        p = work2res[:3, :3] @ np.array([c[0], c[1], z]) + work2res[:3, 3]
        centres.append((float(p[0]), float(p[1])))
    return centres


def lesion_probabilities(stack: np.ndarray, net, contrast: str) -> np.ndarray:
    """Probabilities for a (48, 48, nz) standardised crop stack, in 48^3 patches along z."""
    from spinalcordtoolbox.pretrained.networks import predict

    mean, std = PATCH_STATS[contrast]
    nz = stack.shape[2]
    n_patches = int(np.ceil(nz / PATCH))
    padded = np.zeros((PATCH, PATCH, n_patches * PATCH), dtype=np.float32)
    padded[:, :, :nz] = stack
    patches = [padded[:, :, i * PATCH:(i + 1) * PATCH] for i in range(n_patches)]
    keep = [i for i, p in enumerate(patches) if p.any()]  # empty where no centerline
    prob = np.zeros_like(padded)
    if keep:
        batch = np.stack([(patches[i] - mean) / std for i in keep])[:, None]
        preds = predict(net, batch, batch_size=1, desc="Lesion segmentation")
        for i, p in zip(keep, preds):
            prob[:, :, i * PATCH:(i + 1) * PATCH] = p[0]
    return prob[:, :, :nz]


def segment_lesion(im: Image, contrast: str, centerline: Image | None = None, device="auto") -> Image:
    """Segment MS lesions; uint8 mask on the input's grid and orientation (may be empty).

    ``centerline``: a centerline or cord mask on the input's grid; None runs the cnn detector.
    """
    from spinalcordtoolbox.pretrained.centerline import CordNotFoundError, find_cord_centres
    from spinalcordtoolbox.pretrained.models import centerline_model_path, lesion_model_path
    from spinalcordtoolbox.pretrained.networks import load_network
    from spinalcordtoolbox.pretrained.preprocessing import (
        crop_around_centerline, nyul_standardize, resample_onto, resample_to_spacing, uncrop)

    model_path = lesion_model_path(contrast)
    work = im.copy().require_3d("input image")
    if not np.isfinite(work.data).all():
        raise ImageError("The input image contains NaN or infinite values")
    orientation = work.orientation
    work.change_orientation("RPI")
    res = resample_to_spacing(work, (LESION_SPACING_MM, LESION_SPACING_MM, None))

    if centerline is not None:
        ctl = centerline.copy().require_3d("centerline")
        check_same_grid(ctl, im, names=("centerline", "input image"))
        ctl.change_orientation("RPI")
        centres = _centres_from_mask(ctl, work, res)
        if all(c is None for c in centres):
            raise ImageError("The centerline file is empty")
    else:
        if np.ptp(res.data) == 0:
            raise CordNotFoundError("The image is constant: no spinal cord to detect")
        ctr_contrast = CENTERLINE_CONTRAST[contrast]
        ctr_net = load_network(centerline_model_path(ctr_contrast), device)
        centres = find_cord_centres(res.data, ctr_contrast, ctr_net)
        if all(c is None for c in centres):
            raise CordNotFoundError(
                f"The {ctr_contrast} centerline network found no spinal cord in this image; give the "
                f"centerline with '-centerline file -file_centerline <mask>'")
    logger.info("Cord centre available in %d of %d slices", sum(c is not None for c in centres), len(centres))

    crops, starts = crop_around_centerline(res.data, centres, PATCH)
    # landmarks from the slices that have a crop: empty slices would pile zeros on the low
    # percentiles (identical to the established pipeline when the cord is in every slice)
    has_crop = np.array([s is not None for s in starts])
    crops = nyul_standardize(crops, NYUL_LANDMARKS[contrast], sample=crops[:, :, has_crop])
    crops[:, :, ~has_crop] = 0
    crop_img = Image(crops, affine=res.affine)
    crop_img.hdr.set_zooms(res.pixdim)
    iso = resample_to_spacing(crop_img, (None, None, LESION_SPACING_MM))

    net = load_network(model_path, device)
    prob = lesion_probabilities(iso.data, net, contrast)
    binary = (prob > LESION_THRESHOLD).astype(np.float32)

    # back: native slice thickness, un-crop, native in-plane grid; re-binarise at 0.1
    back_z = resample_onto(binary, iso, crop_img)
    full = uncrop(back_z, starts, res.data.shape)
    native = resample_onto(full, res, work)
    data = (native >= LESION_THRESHOLD).astype(np.uint8)
    logger.info("Lesion volume: %d voxels (%.1f mm3)", int(data.sum()),
                float(data.sum() * np.prod(work.pixdim)))
    out = empty_like(work, data)
    out.change_orientation(orientation)
    return out
