"""Split a diffusion series into its b=0 and diffusion-weighted volumes (and their means), and
the reverse: concatenate b=0 and DW series into one, with matching bvals/bvecs."""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.dmri.gradients import b0_mask, check_count
from spinalcordtoolbox.image import Image, empty_like, same_grid
from spinalcordtoolbox.utils.cli import SCTError


def b0_dwi_indices(im: Image, bvecs=None, bvals=None, bvalmin=None, bvecs_path=None, bvals_path=None):
    """Indices of the b=0 and of the diffusion-weighted volumes of the 4-D ``im``.

    Checks that the gradient files have one entry per volume (one-line error naming the counts).
    """
    im.require_4d("diffusion image")
    n = im.data.shape[3]
    if bvecs is not None:
        check_count(n, bvecs, "bvecs", bvecs_path)
    if bvals is not None:
        check_count(n, bvals, "bvals", bvals_path)
    is_b0 = b0_mask(bvecs, bvals, bvalmin)
    return np.flatnonzero(is_b0), np.flatnonzero(~is_b0)


def separate_b0_dwi(im: Image, bvecs=None, bvals=None, bvalmin=None, average=True,
                    bvecs_path=None, bvals_path=None) -> dict[str, Image]:
    """Return ``{"b0": ..., "dwi": ...}`` 4-D images (volumes in acquisition order), plus
    ``"b0_mean"`` and ``"dwi_mean"`` (float32 means over time) when ``average``."""
    i_b0, i_dwi = b0_dwi_indices(im, bvecs, bvals, bvalmin, bvecs_path, bvals_path)
    if len(i_b0) == 0:
        raise SCTError(f"No b=0 volume among the {im.data.shape[3]} volumes (check the bvecs, or "
                       f"-bval/-bvalmin)")
    if len(i_dwi) == 0:
        raise SCTError(f"No diffusion-weighted volume among the {im.data.shape[3]} volumes")
    out = {"b0": empty_like(im, im.data[..., i_b0]), "dwi": empty_like(im, im.data[..., i_dwi])}
    if average:
        for key, idx in (("b0_mean", i_b0), ("dwi_mean", i_dwi)):
            mean = im.data[..., idx].astype(np.float64).mean(axis=3).astype(np.float32)
            out[key] = empty_like(im, mean)
    return out


def concat_b0_dwi(images: list[Image], order: list[str], bvecs: np.ndarray,
                  bvals: np.ndarray | None = None, names=None):
    """Concatenate 3-D/4-D images along time; ``order[k]`` is "b0" or "dwi" for ``images[k]``.

    b=0 volumes get a zero direction (and b = 0); diffusion-weighted volumes take the entries of
    ``bvecs`` (and ``bvals``) in turn. Returns (4-D image, bvecs (N, 3), bvals (N,) or None).
    """
    if len(order) != len(images):
        raise SCTError(f"-order lists {len(order)} entries for {len(images)} images")
    bad = [o for o in order if o not in ("b0", "dwi")]
    if bad:
        raise SCTError(f"-order entries must be b0 or dwi, got {bad[0]}")
    names = names or [f"image {k + 1}" for k in range(len(images))]
    nvols = [1 if im.data.ndim == 3 else im.data.shape[3] for im in images]
    n_dwi = sum(n for n, o in zip(nvols, order) if o == "dwi")
    check_count(n_dwi, bvecs, "bvecs", against="the images given as dwi have")
    if bvals is not None:
        check_count(n_dwi, bvals, "bvals", against="the images given as dwi have")
    shape = images[0].data.shape[:3]
    for im, name in zip(images, names):
        if not same_grid(im, images[0]):
            raise SCTError(f"{name} {im.data.shape[:3]} is not on the grid of {names[0]} {shape}")
    data = np.concatenate([im.data.reshape(shape + (-1,)) for im in images], axis=3)
    out_vecs, out_vals, k = [], [], 0
    for n, o in zip(nvols, order):
        if o == "b0":
            out_vecs.append(np.zeros((n, 3)))
            out_vals.append(np.zeros(n))
        else:
            out_vecs.append(np.asarray(bvecs)[k:k + n])
            out_vals.append(np.asarray(bvals)[k:k + n] if bvals is not None else np.zeros(n))
            k += n
    out = empty_like(images[0], data)
    return out, np.concatenate(out_vecs), (np.concatenate(out_vals) if bvals is not None else None)
