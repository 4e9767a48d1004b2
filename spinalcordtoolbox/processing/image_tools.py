"""Header and array manipulations of whole images (the engine of ``sct_image``).

Flip, split/concatenate, keep/remove volumes, pad, header copy and qform/sform sync. Each
function takes Image objects and returns new Image objects; nothing is written here.
"""
from __future__ import annotations

import os

import numpy as np

from spinalcordtoolbox.image import (Image, ImageError, check_same_grid, concat_data, describe_grid, pad_image,
                                    split_img_data)

AXES = {"x": 0, "y": 1, "z": 2, "t": 3}
SPLIT_SUFFIX = {"x": "_X", "y": "_Y", "z": "_Z", "t": "_T"}


def axis_index(dim: str) -> int:
    if dim not in AXES:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("dimension", dim, AXES)
    return AXES[dim]


def flip(img: Image, dim: str) -> Image:
    """Flip the data array along an axis; the header is unchanged (fixes a wrong array order)."""
    axis = axis_index(dim)
    if axis >= img.data.ndim:
        raise ImageError(f"Cannot flip along '{dim}': the image has {img.data.ndim} dimensions")
    out = img.copy()
    out.data = np.ascontiguousarray(np.flip(img.data, axis=axis))
    return out


def split(img: Image, dim: str) -> list[Image]:
    """One image per index along x, y, z or t (each keeps its voxels' world positions)."""
    axis = axis_index(dim)
    if axis >= img.data.ndim:
        raise ImageError(f"Cannot split along '{dim}': the image has {img.data.ndim} dimensions")
    return split_img_data(img, axis)


def split_names(stem: str, dim: str, count: int, ext=".nii.gz") -> list[str]:
    """``dmri``, t, 7 -> dmri_T0000.nii.gz ... dmri_T0006.nii.gz (the toolbox's names)."""
    return [f"{stem}{SPLIT_SUFFIX[dim]}{i:04d}{ext}" for i in range(count)]


def concat(images: list[Image], dim: str) -> Image:
    """Concatenate along x, y, z or t; all images must have the same other dimensions."""
    if len(images) < 2:
        raise ImageError("Concatenation needs at least two images")
    axis = axis_index(dim)
    first = images[0]

    def label(k, im):
        return f"image {k}" + (f" ({os.path.basename(im.absolutepath)})" if im.absolutepath else "")

    for k, im in enumerate(images[1:], start=2):
        names = (label(1, first), label(k, im))
        if axis == 3:
            # volumes of one series: every voxel must mean the same place in all of them
            check_same_grid(first, im, names=names)
            continue
        prev = images[k - 2]
        # spatial: same voxel axes and size, and image k starting where image k-1 ends
        expected = prev.transfo_pix2phys([[prev.data.shape[axis] if i == axis else 0 for i in range(3)]])[0]
        if (not np.allclose(prev.affine[:3, :3], im.affine[:3, :3], atol=1e-3)
                or not np.allclose(im.affine[:3, 3], expected, atol=1e-2)):
            raise ImageError(f"{label(k, im).capitalize()} ({describe_grid(im)}) does not continue "
                             f"{label(k - 1, prev)} ({describe_grid(prev)}) along {dim}: the result "
                             f"would place voxels at wrong positions")
    return concat_data(images, axis)


def select_volumes(img: Image, indices, keep: bool) -> Image:
    """Keep (or remove) the volumes with these 0-based indices of a 4-D image."""
    if img.data.ndim != 4:
        raise ImageError(f"Volumes can only be selected in a 4-D image, got shape {img.data.shape}")
    nt = img.data.shape[3]
    bad = [i for i in indices if not 0 <= i < nt]
    if bad:
        raise ImageError(f"Volume index {bad[0]} out of range: the image has {nt} volumes (0 to {nt - 1})")
    kept = [i for i in range(nt) if (i in indices) == keep]
    if not kept:
        raise ImageError("No volume would be left")
    return Image(np.ascontiguousarray(img.data[..., kept]), hdr=img.hdr, affine=img.affine)


def pad(img: Image, widths) -> Image:
    """Zero-pad: widths = (x, y, z) on both sides, or (x0, x1, y0, y1, z0, z1)."""
    widths = [int(w) for w in widths]
    if any(w < 0 for w in widths):
        raise ImageError("Padding widths must be >= 0")
    if len(widths) == 3:
        pairs = [(w, w) for w in widths]
    elif len(widths) == 6:
        pairs = [tuple(widths[i:i + 2]) for i in (0, 2, 4)]
    else:
        raise ImageError(f"Give 3 (x,y,z) or 6 (x0,x1,y0,y1,z0,z1) padding widths, got {len(widths)}")
    if img.data.ndim < 3:
        raise ImageError("Padding needs a 3-D or 4-D image")
    return pad_image(img, *pairs)


def copy_header(source: Image, data_image: Image) -> Image:
    """The data of ``data_image`` with the header (geometry, dtype) of ``source``."""
    if source.data.shape[:3] != data_image.data.shape[:3]:
        raise ImageError(f"Cannot copy the header: images have different dimensions "
                         f"{source.data.shape} and {data_image.data.shape}")
    hdr = source.hdr.copy()
    out = Image(data_image.data, hdr=hdr, affine=source.affine)
    out.hdr.set_data_shape(data_image.data.shape)
    return out


def sync_qform_sform(img: Image, target: str) -> Image:
    """Copy the sform into the qform (``target="qform"``) or the qform into the sform."""
    out = img.copy()
    qform, qcode = img.hdr.get_qform(coded=True)
    sform, scode = img.hdr.get_sform(coded=True)
    if target == "sform":
        if not qcode:
            raise ImageError("The qform is not set (qform_code 0): nothing to copy into the sform")
        out.hdr.set_sform(qform, code=int(qcode))
    elif target == "qform":
        if not scode:
            raise ImageError("The sform is not set (sform_code 0): nothing to copy into the qform")
        # a qform cannot hold shears: nibabel keeps the closest rotation + zooms
        out.hdr.set_qform(sform, code=int(scode))
    else:
        raise ImageError(f"Unknown target {target}")
    return out


def transpose(img: Image, axes) -> Image:
    """Permute the data array's axes (``["z", "y", "x"]`` or ``[2, 1, 0]``); the header is kept
    (like -flip: fixes a data array that does not match its header)."""
    order = [axis_index(a) if isinstance(a, str) else int(a) for a in axes]
    if sorted(order) != list(range(img.data.ndim)):
        raise ImageError(f"-transpose needs each of the image's {img.data.ndim} axes once, got "
                         f"{','.join(map(str, axes))}")
    out = img.copy()
    out.data = np.ascontiguousarray(np.transpose(img.data, order))
    out.hdr.set_data_shape(out.data.shape)
    return out


COMPONENT_SUFFIX = ("_X", "_Y", "_Z")


def multicomponent_split(img: Image) -> list[Image]:
    """A multi-component image (ITK warping field, shape x,y,z,1,n) -> n 3-D images."""
    data = img.data
    if data.ndim != 5:
        raise ImageError(f"-mcs needs a multi-component (5-D) image, got shape {data.shape}")
    parts = []
    for c in range(data.shape[4]):
        comp = data[..., c]
        comp = comp[..., 0] if comp.shape[3] == 1 else comp
        part = Image(np.ascontiguousarray(comp), hdr=img.hdr, affine=img.affine)
        part.hdr.set_intent("none")
        part.hdr.set_data_shape(comp.shape)
        parts.append(part)
    return parts


def component_names(stem: str, count: int, ext=".nii.gz") -> list[str]:
    """``warp``, 3 -> warp_X, warp_Y, warp_Z (other counts: warp_0, warp_1...)."""
    suffixes = COMPONENT_SUFFIX if count == 3 else [f"_{i}" for i in range(count)]
    return [f"{stem}{s}{ext}" for s in suffixes]


def multicomponent_merge(images: list[Image]) -> Image:
    """3-D images of one grid -> one multi-component image (x,y,z,1,n), vector intent."""
    if len(images) < 2:
        raise ImageError("-omc needs at least two images")
    shape = images[0].data.shape[:3]
    for im in images[1:]:
        if im.data.shape[:3] != shape:
            raise ImageError(f"-omc: images have different shapes {shape} and {im.data.shape[:3]}")
    data = np.stack([im.data.reshape(shape) for im in images], axis=-1)[:, :, :, np.newaxis, :]
    out = Image(np.ascontiguousarray(data), hdr=images[0].hdr, affine=images[0].affine)
    out.hdr.set_intent("vector")
    out.hdr.set_data_shape(data.shape)
    return out


_FSL_TYPES = {"uint8": "UINT8", "int8": "INT8", "int16": "INT16", "uint16": "UINT16", "int32": "INT32",
              "uint32": "UINT32", "float32": "FLOAT32", "float64": "FLOAT64", "int64": "INT64"}


def _fslhd_text(img: Image) -> str:
    """The layout of FSL's ``fslhd``: one ``key<TAB>value`` line per field."""
    hdr = img.hdr
    rows = [("filename", img.absolutepath or ""), ("sizeof_hdr", int(hdr["sizeof_hdr"])),
            ("data_type", _FSL_TYPES.get(img.data.dtype.name, img.data.dtype.name.upper()))]
    dims = hdr["dim"]
    rows += [(f"dim{i}", int(dims[i])) for i in range(8)]
    units = hdr.get_xyzt_units()
    rows += [("vox_units", units[0] or "Unknown"), ("time_units", units[1] or "Unknown"),
             ("datatype", int(hdr["datatype"])), ("nbyper", int(hdr["bitpix"]) // 8),
             ("bitpix", int(hdr["bitpix"]))]
    rows += [(f"pixdim{i}", f"{float(hdr['pixdim'][i]):.6f}") for i in range(8)]
    rows += [("vox_offset", int(hdr["vox_offset"])), ("cal_max", f"{float(hdr['cal_max']):.6f}"),
             ("cal_min", f"{float(hdr['cal_min']):.6f}"), ("scl_slope", f"{float(hdr['scl_slope']):.6f}"),
             ("scl_inter", f"{float(hdr['scl_inter']):.6f}")]
    freq, phase, slc = hdr.get_dim_info()
    rows += [("phase_dim", phase or 0), ("freq_dim", freq or 0), ("slice_dim", slc or 0),
             ("slice_code", int(hdr["slice_code"])), ("slice_start", int(hdr["slice_start"])),
             ("slice_end", int(hdr["slice_end"])), ("slice_duration", f"{float(hdr['slice_duration']):.6f}"),
             ("toffset", f"{float(hdr['toffset']):.6f}"), ("intent", hdr.get_intent()[0]),
             ("intent_code", int(hdr["intent_code"]))]
    for name in ("qform", "sform"):
        mat, code = (hdr.get_qform if name == "qform" else hdr.get_sform)(coded=True)
        rows.append((f"{name}_code", int(code)))
        mat = mat if mat is not None else np.eye(4)
        for r in range(4):
            rows.append((f"{name[0]}to_xyz:{r + 1}", " ".join(f"{v:.6f}" for v in mat[r])))
    rows += [("file_type", "NIFTI-1+"), ("descrip", hdr["descrip"].item().decode(errors="replace")),
             ("aux_file", hdr["aux_file"].item().decode(errors="replace"))]
    return "\n".join(f"{k}\t{v}" for k, v in rows)


def header_text(img: Image, style: str = "sct") -> str:
    """Header as text: ``nibabel`` (nibabel's dump), ``fslhd`` (FSL's layout) or ``sct``."""
    if style == "nibabel":
        return str(img.hdr)
    if style == "fslhd":
        return _fslhd_text(img)
    lines = [f"{'filename':<16}{img.absolutepath}"]
    shape = list(img.data.shape)
    for i in range(8):
        dim = shape[i - 1] if 1 <= i <= len(shape) else (len(shape) if i == 0 else 1)
        lines.append(f"{'dim' + str(i):<16}{dim}")
    lines.append(f"{'datatype':<16}{img.data.dtype.name}")
    for i, z in enumerate(img.hdr["pixdim"][:8]):
        lines.append(f"{'pixdim' + str(i):<16}{float(z):.6f}")
    for key in ("qform_code", "sform_code", "quatern_b", "quatern_c", "quatern_d",
                "qoffset_x", "qoffset_y", "qoffset_z", "scl_slope", "scl_inter", "xyzt_units",
                "intent_code", "descrip"):
        value = img.hdr[key]
        value = value.item() if hasattr(value, "item") else value
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        lines.append(f"{key:<16}{value}")
    for name, row in (("srow_x", "srow_x"), ("srow_y", "srow_y"), ("srow_z", "srow_z")):
        lines.append(f"{name:<16}" + " ".join(f"{v:.6f}" for v in img.hdr[row]))
    lines.append(f"{'orientation':<16}{img.orientation}")
    return "\n".join(lines)


def squeeze(img: Image) -> Image:
    """Drop trailing dimensions of length 1 beyond the third (a 3-D image stored as 4-D)."""
    data = img.data
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    out = img.copy()
    if data.ndim != img.data.ndim:
        out.data = data
        out.hdr.set_data_shape(data.shape)
    return out
