"""Signal-to-noise ratio in a region (Dietrich et al., JMRI 2007; 26:375).

- ``diff``: two repetitions v0, v1: per slice, weighted mean of (v0 + v1)/2 in the mask over the
  weighted std of (v1 - v0)/sqrt(2) in the mask (var(A - B) = 2 var); the SNR is averaged over
  the slices that hold mask voxels.
- ``mult``: many repetitions: voxel-wise mean / std (ddof 1) over the volumes (0 where the std is
  0), averaged in the mask with its weights.
- ``single``: one volume: per slice, weighted mean in the signal mask over the weighted std in
  the noise mask, averaged over slices. With ``rayleigh`` (noise measured in the background, where
  magnitude noise is Rayleigh-distributed) the SNR is multiplied by sqrt((4 - pi)/2) = 0.655
  (Dietrich's eq. A12).
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, check_same_grid
from spinalcordtoolbox.utils.cli import SCTError

METHODS = ("diff", "mult", "single")
RAYLEIGH_FACTOR = float(np.sqrt((4 - np.pi) / 2))


def _weighted_mean_std(values, weights):
    mean = np.average(values, weights=weights)
    return mean, float(np.sqrt(np.average((values - mean) ** 2, weights=weights)))


def _mask(im: Image | None, ref: Image, name):
    if im is None:
        return None
    im = im.copy()
    if im.data.ndim != 3:
        raise SCTError(f"The {name} must be 3-D, got shape {im.data.shape}")
    check_same_grid(im, ref, names=(name, "image"))
    data = np.asarray(im.data, dtype=np.float64)
    if (data < 0).any():
        raise SCTError(f"The {name} has negative weights")
    if not data.any():
        raise SCTError(f"The {name} is empty")
    return data


def _volumes(vol, n_vol, method):
    if vol is None:
        return list(range(n_vol)) if method == "mult" else [0, 1] if method == "diff" else [0]
    bad = [v for v in vol if not 0 <= v < n_vol]
    if bad:
        raise SCTError(f"-vol {','.join(map(str, bad))}: the image has volumes 0 to {n_vol - 1}")
    return list(vol)


def compute_snr(im: Image, im_mask: Image | None, method="diff", *, im_noise: Image | None = None,
                vol=None, rayleigh=True):
    """(SNR in the mask or None, SNR map Image for ``mult`` or None); ``vol``: list of volume indices."""
    if method not in METHODS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("method", method, METHODS)
    data = np.asarray(im.data, dtype=np.float64)
    if method in ("diff", "mult") and data.ndim != 4:
        raise SCTError(f"-method {method} needs a 4-D image (repetitions along t), got shape {data.shape}")
    if data.ndim not in (3, 4):
        raise SCTError(f"The image must be 3-D or 4-D, got shape {data.shape}")
    ref = Image(data[..., 0] if data.ndim == 4 else data, hdr=im.hdr, affine=im.affine)
    mask = _mask(im_mask, ref, "mask (-m)")
    if method in ("diff", "single") and mask is None:
        raise SCTError(f"-method {method} needs a mask (-m)")
    vols = _volumes(vol, data.shape[3] if data.ndim == 4 else 1, method)
    if method == "mult":
        if len(vols) < 2:
            raise SCTError("-method mult needs at least 2 volumes")
        from spinalcordtoolbox.fmri.tsnr import compute_tsnr  # the one voxel-wise mean/std map
        series = data[..., vols]
        out = compute_tsnr(Image(series, hdr=im.hdr, affine=im.affine))
        snr_map = out.data
        ok = np.ptp(series, axis=3) > 0
        if mask is None:
            return None, out
        if not (mask[ok] > 0).any():
            raise SCTError("The signal does not vary over time in any voxel of the mask")
        return float(np.average(snr_map[ok], weights=mask[ok])), out
    if method == "diff":
        if len(vols) != 2:
            raise SCTError(f"-method diff needs exactly 2 volumes (-vol), got {len(vols)}")
        v0, v1 = data[..., vols[0]], data[..., vols[1]]
        signal, noise = (v0 + v1) / 2, (v1 - v0) / np.sqrt(2)
    else:
        if data.ndim == 4:
            if len(vols) != 1:
                raise SCTError(f"-method single needs exactly 1 volume (-vol), got {len(vols)}")
            data = data[..., vols[0]]
        noise_mask = _mask(im_noise, ref, "noise mask (-m-noise)")
        if noise_mask is None:
            raise SCTError("-method single needs a noise mask (-m-noise)")
        for z in range(data.shape[2]):
            if mask[..., z].any() != noise_mask[..., z].any():
                raise SCTError(f"Slice {z} holds voxels of only one of -m and -m-noise: both masks "
                               f"must cover the same slices")
        signal = noise = data
    snrs = []
    for z in range(signal.shape[2]):
        if not mask[..., z].any():
            continue
        mean, _ = _weighted_mean_std(signal[..., z], mask[..., z])
        weights = mask[..., z] if method == "diff" else noise_mask[..., z]
        _, std = _weighted_mean_std(noise[..., z], weights)
        if std == 0:
            raise SCTError(f"No noise in slice {z} (zero standard deviation): cannot compute an SNR")
        snrs.append(mean / std)
    snr = float(np.mean(snrs))
    if method == "single" and rayleigh:
        snr *= RAYLEIGH_FACTOR
    return snr, None
