"""Diffusion tensor fitting (dipy's TensorModel) and its scalar maps: FA, MD, AD, RD.

``standard`` is dipy's weighted least squares fit; ``restore`` is RESTORE (Chang et al. 2005),
which iteratively discards volumes whose residual exceeds 3 sigma in a voxel (signal dropouts,
motion-corrupted volumes). Its noise level sigma is estimated from the data (dipy's
``estimate_sigma``, averaged over volumes). Directions are used in the image's voxel axes
(the convention of FSL bvecs), so the image is fitted on its own grid, without reorientation.
"""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.dmri.separate import b0_dwi_indices
from spinalcordtoolbox.image import Image, check_same_grid, empty_like
from spinalcordtoolbox.utils.cli import SCTError, choice_error

logger = logging.getLogger(__name__)

METHODS = ("standard", "restore")
MAPS = ("FA", "MD", "AD", "RD")


def fit_dti(data: np.ndarray, bvals: np.ndarray, bvecs: np.ndarray, method="standard",
            mask: np.ndarray | None = None):
    """Fit the tensor model to a 4-D array; returns dipy's TensorFit."""
    from dipy.core.gradients import gradient_table
    from dipy.reconst.dti import TensorModel

    if method not in METHODS:
        raise choice_error("method", method, METHODS)
    bvecs = np.asarray(bvecs, dtype=float)
    norms = np.linalg.norm(bvecs, axis=1)
    dwi = np.asarray(bvals) > 0
    if np.any(np.abs(norms[dwi] - 1) > 0.1):
        raise SCTError("Some diffusion-weighted volumes have a b-vector that is not of unit length")
    # b=0 volumes may carry any direction: dipy wants zeros or unit vectors
    bvecs = np.where(dwi[:, None], bvecs / np.where(norms > 0, norms, 1)[:, None], 0.0)
    gtab = gradient_table(np.asarray(bvals, dtype=float), bvecs=bvecs)
    data = np.asarray(data, dtype=np.float64)
    if method == "restore":
        if data.shape[-1] <= 7:
            raise SCTError(f"-method restore needs more volumes than the 7 tensor parameters, the image "
                           f"has {data.shape[-1]}: use -method standard")
        from dipy.denoise.noise_estimate import estimate_sigma

        sigma = float(np.mean(estimate_sigma(data)))
        if not sigma > 0:
            raise SCTError("Cannot estimate the noise level for -method restore (noise-free data?)")
        logger.info("RESTORE: noise sigma estimated at %.3g", sigma)
        model = TensorModel(gtab, fit_method="RESTORE", sigma=sigma)
    else:
        model = TensorModel(gtab, fit_method="WLS")
    return model.fit(data, mask=mask)


def compute_dti(im: Image, bvals: np.ndarray, bvecs: np.ndarray, method="standard",
                mask: Image | None = None, evecs=False, bvals_path=None, bvecs_path=None) -> dict[str, Image]:
    """Tensor maps of a 4-D diffusion image: ``{"FA", "MD", "AD", "RD"}`` (diffusivities in the
    units of 1/b, i.e. mm2/s for b in s/mm2), plus ``"V1", "V2", "V3"`` (eigenvectors, 4-D x 3,
    by decreasing eigenvalue) and ``"L1", "L2", "L3"`` with ``evecs``. Voxels outside ``mask``
    are 0."""
    i_b0, i_dwi = b0_dwi_indices(im, bvecs, bvals, 0, bvecs_path, bvals_path)
    if len(i_b0) == 0:
        raise SCTError("The tensor fit needs at least one b=0 volume (b-value 0)")
    if len(i_dwi) < 6:
        raise SCTError(f"The tensor fit needs at least 6 diffusion-weighted volumes, got {len(i_dwi)}")
    m = None
    if mask is not None:
        mask = mask.copy().require_3d("mask")
        check_same_grid(mask, im, names=("mask", "diffusion image"))
        m = mask.data > 0
        if not m.any():
            raise SCTError("The mask is empty")
    fit = fit_dti(im.data, bvals, bvecs, method, m)
    keep = np.ones(im.data.shape[:3], bool) if m is None else m
    evals = np.nan_to_num(fit.evals)
    maps = {
        "FA": fit.fa, "MD": evals.mean(-1), "AD": evals[..., 0], "RD": evals[..., 1:].mean(-1),
    }
    out = {}
    for name, value in maps.items():
        out[name] = empty_like(im, np.where(keep, np.nan_to_num(value), 0).astype(np.float32))
    if evecs:
        vecs = np.nan_to_num(fit.evecs)  # (..., 3 components, 3 eigenvectors)
        for k in range(3):
            out[f"V{k + 1}"] = empty_like(im, np.where(keep[..., None], vecs[..., :, k], 0).astype(np.float32))
            out[f"L{k + 1}"] = empty_like(im, np.where(keep, evals[..., k], 0).astype(np.float32))
    return out
