"""Slice-wise motion correction of a 4-D series (the algorithm of the established toolbox).

The volumes are split into *series* corrected independently (dMRI: the b=0 volumes and the
diffusion-weighted volumes, whose contrasts differ; fMRI: all volumes). Within a series,
successive volumes are averaged in groups of ``group_size`` (more signal, more robust), and
each group mean is registered to the series' target, the mean of its first group: one in-plane
translation per axial slice, found by :func:`~spinalcordtoolbox.registration.slicewise.slicereg`
and regularised along z by a polynomial (``poly``). The translations of a group are then
applied to every volume of that group. Work is done in RPI (axial slices = ``data[:, :, z]``),
the output keeps the input's orientation and header.

Translations are reported per volume and slice as the displacement of the volume's content
relative to the target, along the RPI x (right to left) and y (posterior to anterior) axes,
in mm: corrected(x) = volume(x + translation).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from spinalcordtoolbox.image import Image, check_same_grid, empty_like, same_grid
from spinalcordtoolbox.moco.param import MocoParam
from spinalcordtoolbox.registration.slicewise import shift_slices, slicereg
from spinalcordtoolbox.utils.cli import SCTError, choice_error

logger = logging.getLogger(__name__)

INTERPOLATIONS = {"nn": 0, "linear": 1, "spline": 3}
#: seed of the voxel sampling (-param sample): results are reproducible
SAMPLING_SEED = 0


@dataclass
class MocoResult:
    image: Image                 # corrected series (float32), input orientation and header
    translations: np.ndarray     # (n_volumes, nz, 2): RPI x, y in mm, per volume and slice
    groups: list                 # lists of volume indices registered together
    target_groups: list          # the group each series was registered to
    rpi_affine: np.ndarray       # affine of the RPI grid the translations refer to


def make_groups(indices, group_size: int) -> list[list[int]]:
    """Consecutive groups of ``group_size`` volumes (the last one may be smaller)."""
    if group_size < 1:
        raise SCTError(f"The group size (-g) must be >= 1, got {group_size}")
    idx = [int(i) for i in indices]
    return [idx[k:k + group_size] for k in range(0, len(idx), group_size)]


def _check_mask(mask: Image, im: Image) -> Image:
    mask = mask.copy()
    if mask.data.ndim > 3 and not mask.is_3d():
        raise SCTError(f"The mask must be 3-D, got shape {mask.data.shape}")
    mask.require_3d("mask")
    if not same_grid(mask, im):
        raise SCTError(f"The mask {mask.data.shape[:3]} is not on the grid of the image "
                       f"{im.data.shape[:3]} (shape or affine differ): create it from this series, "
                       f"e.g. sct_create_mask -i <mean of the series>")
    if not (mask.data > 0).any():
        raise SCTError("The mask is empty")
    return mask


def _crop_box(weights: np.ndarray | None, shape, margin: int):
    """In-plane bounding box (slices) of the mask, widened by ``margin`` voxels."""
    if weights is None:
        return slice(0, shape[0]), slice(0, shape[1])
    keep = np.argwhere(weights.max(axis=2) > 0)
    lo = np.maximum(keep.min(0) - margin, 0)
    hi = np.minimum(keep.max(0) + margin + 1, shape[:2])
    return slice(int(lo[0]), int(hi[0])), slice(int(lo[1]), int(hi[1]))


def moco(im: Image, series: list, group_size: int, param: MocoParam, mask: Image | None = None,
         interpolation="spline", progress=True) -> MocoResult:
    """Motion-correct the 4-D ``im``; ``series`` lists arrays of volume indices corrected
    independently (together they must cover every volume once)."""
    from scipy.ndimage import gaussian_filter

    from spinalcordtoolbox.utils.cli import progress_bar

    if interpolation not in INTERPOLATIONS:
        raise choice_error("interpolation (-x)", interpolation, INTERPOLATIONS)
    im.require_4d("series", min_volumes=2)
    nt = im.data.shape[3]
    covered = sorted(int(i) for s in series for i in s)
    if covered != list(range(nt)):
        raise SCTError(f"The volume sets given cover {len(covered)} of the {nt} volumes")
    if mask is not None:
        mask = _check_mask(mask, im)
    orientation = im.orientation
    work = Image(im.data, hdr=im.hdr, affine=im.affine).change_orientation("RPI")
    data = work.data
    nx, ny, nz = data.shape[:3]
    px, py = work.pixdim[:2]
    weights = None
    if mask is not None:
        weights = (mask.change_orientation("RPI").data > 0).astype(np.float32)
    if param.sample is not None and param.sample < 1:
        rng = np.random.default_rng(SAMPLING_SEED)
        base = weights if weights is not None else np.ones((nx, ny, nz), np.float32)
        weights = base * (rng.random(base.shape) < param.sample)
    search_vox = max(1, int(math.ceil(param.search / min(px, py))))
    sigma = (param.smooth / px, param.smooth / py, 0.0) if param.smooth > 0 else None
    # the metric only sees the mask: registering its bounding box (plus the search range and
    # the smoothing support) gives the same translations much faster
    margin = search_vox + 2 + (int(math.ceil(3 * max(sigma))) if sigma else 0)
    bx, by = _crop_box(weights, (nx, ny, nz), margin)
    crop_affine = work.affine.copy()
    crop_affine[:3, 3] = work.transfo_pix2phys([[bx.start, by.start, 0]])[0]

    def reg_image(indices):
        mean = data[bx, by][..., list(indices)].mean(axis=3, dtype=np.float64).astype(np.float32)
        if sigma:
            mean = gaussian_filter(mean, sigma)
        return Image(mean, affine=crop_affine)

    w_img = Image(weights[bx, by], affine=crop_affine) if weights is not None else None
    shifts = np.zeros((nt, nz, 2))
    groups_all, targets = [], []
    todo = []
    for indices in series:
        groups = make_groups(indices, group_size)
        if not groups:
            continue
        groups_all += groups
        targets.append(groups[0])
        todo += [(g, groups[0]) for g in groups[1:]]
    target_cache = {}
    for group, target in progress_bar(todo, desc="Motion correction", unit="group") if progress else todo:
        key = tuple(target)
        if key not in target_cache:
            target_cache[key] = reg_image(target)
        _, _, _, reg = slicereg(reg_image(group), target_cache[key], metric=param.metric, poly=param.poly,
                                mask=w_img, search_vox=search_vox, grid_step=param.gradStep, fields=False)
        shifts[group] = reg
    order = INTERPOLATIONS[interpolation]
    out = np.empty(data.shape, dtype=np.float32)
    for v in range(nt):
        if np.any(shifts[v]):
            out[..., v] = shift_slices(data[..., v], shifts[v], order=order)
        else:
            out[..., v] = data[..., v]
    corrected = empty_like(work, out).change_orientation(orientation)
    corrected.hdr.set_zooms(im.hdr.get_zooms())
    return MocoResult(corrected, shifts * np.array([px, py]), groups_all, targets, work.affine)


def translation_images(result: MocoResult) -> tuple[Image, Image]:
    """``moco_params_x`` and ``moco_params_y``: (1, 1, nz, n_volumes) images of the translations
    (mm) on the RPI grid."""
    out = []
    for c in range(2):
        arr = np.ascontiguousarray(result.translations[:, :, c].T[None, None]).astype(np.float32)
        out.append(Image(arr, affine=result.rpi_affine))
    return out[0], out[1]


def translations_table(result: MocoResult) -> str:
    """``moco_params.tsv``: one row per volume, X and Y translations (mm) averaged over slices."""
    lines = ["X\tY"]
    for v in result.translations:
        lines.append(f"{v[:, 0].mean():.6f}\t{v[:, 1].mean():.6f}")
    return "\n".join(lines) + "\n"


def between_volume_variance(im: Image, mask: Image) -> float:
    """Mean over the mask's voxels of the variance over time (a motion-correction check)."""
    check_same_grid(mask, im, names=("mask", "series"))
    m = mask.data.reshape(mask.data.shape[:3]) > 0
    return float(im.data[m].astype(np.float64).var(axis=1).mean())


def _mean_over(img: Image, indices) -> Image:
    return empty_like(img, img.data[..., list(indices)].mean(axis=3, dtype=np.float64).astype(np.float32))


def dmri_moco(im: Image, bvecs=None, bvals=None, bvalmin=None, group_size=3, param: MocoParam | None = None,
              mask: Image | None = None, interpolation="spline", bvecs_path=None, bvals_path=None) -> dict:
    """Motion correction of a diffusion series: the b=0 volumes and the diffusion-weighted
    volumes are corrected as two series. Returns ``{"moco", "b0_mean", "dwi_mean"}`` images and
    ``"result"`` (:class:`MocoResult`)."""
    from spinalcordtoolbox.dmri.separate import b0_dwi_indices
    from spinalcordtoolbox.moco.param import DMRI_DEFAULT

    i_b0, i_dwi = b0_dwi_indices(im, bvecs, bvals, bvalmin, bvecs_path, bvals_path)
    if len(i_b0) == 0 or len(i_dwi) == 0:
        raise SCTError(f"The series has {len(i_b0)} b=0 and {len(i_dwi)} diffusion-weighted volumes: "
                       f"both are needed (check -bvec, or -bval/-bvalmin)")
    res = moco(im, [i_b0, i_dwi], group_size, param or DMRI_DEFAULT, mask, interpolation)
    return {"moco": res.image, "b0_mean": _mean_over(res.image, i_b0),
            "dwi_mean": _mean_over(res.image, i_dwi), "result": res}


def fmri_moco(im: Image, group_size=1, param: MocoParam | None = None, mask: Image | None = None,
              interpolation="spline") -> dict:
    """Motion correction of an fMRI series (all volumes, one target). Returns ``{"moco", "mean"}``
    images and ``"result"`` (:class:`MocoResult`)."""
    from spinalcordtoolbox.moco.param import FMRI_DEFAULT

    im.require_4d("fMRI series", min_volumes=2)
    res = moco(im, [np.arange(im.data.shape[3])], group_size, param or FMRI_DEFAULT, mask, interpolation)
    return {"moco": res.image, "mean": _mean_over(res.image, range(im.data.shape[3])), "result": res}


def save_moco_outputs(images: dict, result: MocoResult, ofolder) -> list[str]:
    """Write ``images`` ({path: Image}) plus ``moco_params.tsv``, ``moco_params_x.nii.gz`` and
    ``moco_params_y.nii.gz`` in ``ofolder``; every path is checked before anything is written.
    Returns the paths written."""
    import os

    from spinalcordtoolbox.utils.fs import atomic_write_text, check_not_input

    tsv = os.path.join(ofolder, "moco_params.tsv")
    px, py = (os.path.join(ofolder, f"moco_params_{c}.nii.gz") for c in "xy")
    paths = list(images) + [tsv, px, py]
    for p in paths:
        check_not_input(p)
    os.makedirs(ofolder, exist_ok=True)
    for path, img in images.items():
        img.save(path)
    im_x, im_y = translation_images(result)
    im_x.save(px)
    im_y.save(py)
    atomic_write_text(tsv, translations_table(result))
    return paths
