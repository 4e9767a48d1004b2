"""Bring a template (and its white-matter atlas) onto a subject through a warping field.

Every file listed in the template's ``info_label.txt`` (and the atlas's) is resampled onto the
destination grid with the interpolation its content needs: linear for images and
probabilistic maps (cord, WM, GM, CSF, atlas tracts), nearest neighbour for discrete label
maps (vertebral levels, spinal levels, rootlets), point-label moves for single-voxel labels
(discs, midpoints). Only the slab of each template file that the destination maps to is
read, so warping the 0.5 mm PAM50 onto a small subject stays fast.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from spinalcordtoolbox.image import Image, crop_image

logger = logging.getLogger(__name__)

#: files whose name contains one of these are point labels (moved as points)
_POINT_KEYS = ("label_disc", "label_body", "label_discPosterior", "midpoint")
#: files whose name contains one of these are discrete label maps (nearest neighbour)
_DISCRETE_KEYS = ("levels", "rootlets")
_CONTINUOUS_KEYS = ("levels_continuous",)
_SPINAL_KEYS = ("spinal_levels", "spinal_midpoint")


def interpolation_for(filename: str) -> str:
    """The interpolation suited to a template file, from its name."""
    name = Path(filename).name
    if any(k in name for k in _POINT_KEYS):
        return "label"
    if any(k in name for k in _CONTINUOUS_KEYS):
        return "linear"
    if any(k in name for k in _DISCRETE_KEYS):
        return "nn"
    return "linear"


def warp_template(dest: Image, warp_path, template, ofolder="label", atlas=True,
                  spinal_levels=True) -> dict:
    """Warp the template's files (and atlas) onto ``dest``; returns {relative name: path}.

    Outputs: ``<ofolder>/template/*.nii.gz`` and ``<ofolder>/atlas/*.nii.gz``, each folder
    with an ``info_label.txt`` listing the files written. ``spinal_levels=False`` skips the
    spinal-level files.
    """
    from spinalcordtoolbox.registration import warp
    from spinalcordtoolbox.registration.template import format_info_label, read_info_label
    from spinalcordtoolbox.utils.cli import progress_bar
    from spinalcordtoolbox.utils.fs import atomic_write_text, staged_folder

    dest = dest.copy()
    if dest.data.ndim > 3:
        dest = Image(dest.data[..., 0] if dest.data.ndim == 4 else dest.data.reshape(dest.data.shape[:3]),
                     hdr=dest.hdr, affine=dest.affine)
    chain = warp._load_chain([os.fspath(warp_path)], None)
    mapped = _mapped_points(dest, chain)
    # only the destination voxels that read inside the template's field of view are computed
    # (the cord region): on a large grid (64x320x320) the rest is zero in every output
    full_dest = dest
    region = _template_region(dest, mapped, template.path("cord"))
    if region is None:
        raise ValueError("The warping field maps no voxel of the destination into the template: "
                         "check -w (template -> destination, e.g. warp_template2anat.nii.gz)")
    dest = crop_image(full_dest, *[b for pair in region for b in pair])
    mapped = mapped.reshape(full_dest.data.shape[:3] + (3,))[
        tuple(slice(lo, hi + 1) for lo, hi in region)].reshape(-1, 3)
    jobs = []
    sections = [("template", template.template_dir)]
    if atlas:
        if not template.atlas_dir.is_dir():
            raise FileNotFoundError(f"The template has no atlas folder: {template.atlas_dir} "
                                    f"(use -a 0 to skip the atlas)")
        sections.append(("atlas", template.atlas_dir))
    infos = {}
    for section, folder in sections:
        info_path = folder / "info_label.txt"
        if not info_path.is_file():
            raise FileNotFoundError(f"No info_label.txt in {folder}")
        info = read_info_label(info_path)
        kept = []
        for entry in info.labels:
            src = folder / entry[2]
            if not src.is_file():
                logger.info("Skipping %s (not in %s)", entry[2], folder)
                continue
            if not spinal_levels and any(k in entry[2] for k in _SPINAL_KEYS):
                continue
            kept.append(entry)
            jobs.append((section, src))
        info.labels = kept
        infos[section] = info

    out = {}
    bar = progress_bar(total=len(jobs), desc="Warping template", unit="file")
    # all files are written into a staging folder moved into place at the end: an interrupted
    # run never leaves a partial set of template files that looks complete
    with staged_folder(ofolder) as stage:
        _warp_jobs(jobs, dest, chain, mapped, stage, ofolder, out, bar, full_dest, region)
        for section, info in infos.items():
            title = "Template labels" if section == "template" else "White matter atlas"
            atomic_write_text(Path(stage) / section / "info_label.txt", format_info_label(info, title))
    bar.close()
    logger.info("Warped %d files into %s", len(out), ofolder)
    return out


def _warp_jobs(jobs, dest, chain, mapped, stage, ofolder, out, bar, full_dest, region):
    """Warp the files of ``jobs`` onto the cropped ``dest`` and write them, pasted back into the
    whole destination grid ``full_dest`` at ``region``, into ``stage``."""
    from spinalcordtoolbox.registration import warp

    for batch, interp in _batches(jobs):
        slabs = [read_slab(src, mapped) for _, src in batch]
        # files on the same grid go through the field together (one evaluation per batch)
        stackable = len({im.data.shape for im in slabs}) == 1 and len(slabs) > 1
        if stackable:
            stack = Image(np.stack([np.asarray(im.data, np.float32) for im in slabs], axis=3),
                          hdr=slabs[0].hdr, affine=slabs[0].affine)
            moved4d = warp.apply_transforms(stack, dest, [chain], interp=interp).data
            moved = [moved4d[..., k] for k in range(len(slabs))]
        else:
            moved = [warp.apply_transforms(im, dest, [chain], interp=interp).data for im in slabs]
        for (section, src), im, data in zip(batch, slabs, moved):
            dtype = np.float32 if interp == "linear" else im.data.dtype
            whole = np.zeros(full_dest.data.shape[:3], dtype)
            whole[tuple(slice(lo, hi + 1) for lo, hi in region)] = np.asarray(data)
            result = Image(whole, hdr=full_dest.hdr, affine=full_dest.affine)
            result.hdr.set_data_dtype(dtype)
            if section == "template" and src.name.endswith("_cord.nii.gz") \
                    and not np.any(result.data):
                raise warp.WarpError(
                    "The warped template cord is empty: the warping field does not map the "
                    "destination image onto this template (was it made for another template? "
                    "use -t); nothing written")
            result.save(str(Path(stage) / section / src.name), verbose=False)
            out[f"{section}/{src.name}"] = str(Path(ofolder) / section / src.name)
            bar.update(1)


def _template_region(dest: Image, mapped_world, template_file, margin=1):
    """Inclusive voxel bounds [(lo, hi)] * 3 of the destination voxels whose mapped point lies
    in the template's field of view (+ ``margin`` voxels), or None when there is none."""
    import nibabel as nib

    nimg = nib.load(str(template_file))
    inv = np.linalg.inv(nimg.affine)
    vox = mapped_world @ inv[:3, :3].T + inv[:3, 3]
    shape = np.array(nimg.shape[:3])
    inside = np.all((vox >= -1) & (vox <= shape), axis=1).reshape(dest.data.shape[:3])
    if not inside.any():
        return None
    region = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(inside.any(axis=other))
        region.append((max(0, idx[0] - margin), min(dest.data.shape[axis] - 1, idx[-1] + margin)))
    return region


def _batches(jobs, size=8):
    """Jobs grouped by interpolation, in batches of at most ``size`` files (bounded memory)."""
    groups = {}
    for job in jobs:
        groups.setdefault(interpolation_for(job[1].name), []).append(job)
    for interp, group in groups.items():
        for k in range(0, len(group), size):
            yield group[k:k + size], interp


def _mapped_points(dest: Image, chain) -> np.ndarray:
    """World (RAS) points of the template that the destination's voxels read."""
    from spinalcordtoolbox.straightening import grid_world

    lps = np.array([-1.0, -1.0, 1.0])
    return chain.apply(grid_world(dest) * lps) * lps


def read_slab(path, mapped_world, margin=2) -> Image:
    """The part of a (large) template file that covers ``mapped_world`` (+ margin voxels)."""
    import nibabel as nib

    nimg = nib.load(str(path))
    inv = np.linalg.inv(nimg.affine)
    # fields may flag voxels without a valid mapping with huge values (3.4e38): ignore them
    valid = np.all(np.abs(mapped_world) < 1e5, axis=1)
    vox = mapped_world[valid] @ inv[:3, :3].T + inv[:3, 3]
    shape = np.array(nimg.shape[:3])
    if len(vox) == 0:
        lo = hi = np.zeros(3, int)
    else:
        lo = np.clip(np.floor(vox.min(axis=0)).astype(int) - margin, 0, shape - 1)
        hi = np.clip(np.ceil(vox.max(axis=0)).astype(int) + margin, 0, shape - 1)
    # slicing the last axis only reads one contiguous block of the (gzip) file; in-plane
    # cropping in memory is cheaper than the many small seeks a 3-D slice costs
    data = np.asanyarray(nimg.dataobj[:, :, lo[2]:hi[2] + 1])[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1]
    affine = nimg.affine.copy()
    affine[:3, 3] = nimg.affine[:3, :3] @ lo + nimg.affine[:3, 3]
    hdr = nimg.header.copy()
    hdr.set_data_shape(data.shape)
    return Image(np.ascontiguousarray(data), hdr=hdr, affine=affine)
