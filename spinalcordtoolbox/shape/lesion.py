"""Lesion analysis within the spinal cord: count, volume, length, damage ratio, tissue bridges.

Lesions are the 3-D connected components (26-connectivity) of the lesion mask, in RPI.
For each lesion:

- ``volume [mm3]``: voxel count x voxel volume;
- ``length [mm]``: sum over the slices the lesion spans of the cord centerline's length
  inside each slice (so a lesion along a tilted cord is not under-estimated);
- ``max_equivalent_diameter [mm]``: largest diameter of a disc of the lesion's axial area;
- ``max_axial_damage_ratio``: largest, over slices, lesion area / cord area;
- ``dorsal_bridge_width [mm]``, ``ventral_bridge_width [mm]``: in the midsagittal slice
  (the sagittal slice through the cord's centre over the lesion), the narrowest spared cord
  tissue posterior (dorsal) and anterior (ventral) to the lesion, over the lesion's slices;
- with a warped template folder: % of the lesion in each vertebral level, and % of each
  atlas tract's volume occupied by the lesion.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from spinalcordtoolbox.image import Image, ImageError

logger = logging.getLogger(__name__)


def label_lesions(lesion: np.ndarray):
    """Connected components (26-connectivity) of a lesion mask: (labels, count)."""
    from scipy.ndimage import label

    return label(lesion > 0, structure=np.ones((3, 3, 3)))


def read_atlas(atlas_dir: Path):
    """(id, name, Image) of each tract file listed in the atlas' info_label.txt."""
    info = Path(atlas_dir) / "info_label.txt"
    if not info.is_file():
        raise ImageError(f"No info_label.txt in the atlas folder {atlas_dir}")
    tracts = []
    section = None
    for line in info.read_text().splitlines():
        if "Keyword=" in line:
            section = line.split("Keyword=")[1].split()[0]
            continue
        if line.startswith("#") or not line.strip() or section != "IndivLabels":
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3:
            tracts.append((int(parts[0]), ",".join(parts[1:-1]), Path(atlas_dir) / parts[-1]))
    return tracts


def _bridges(lab_mask, cord, zs):
    """Narrowest dorsal/ventral spared cord (voxels along y) in the midsagittal plane."""
    xs = np.argwhere(cord[:, :, zs].any(axis=1))[:, 0]   # x positions of the cord on these slices
    if xs.size == 0:
        return None, None
    # midsagittal slice: the x of the cord's centre of mass over the lesion's slices
    x_mid = int(round(np.argwhere(cord[:, :, zs])[:, 0].mean()))
    dorsal, ventral = [], []
    for z in zs:
        les_y = np.flatnonzero(lab_mask[x_mid, :, z])
        cord_y = np.flatnonzero(cord[x_mid, :, z] | lab_mask[x_mid, :, z])
        if les_y.size == 0 or cord_y.size == 0:
            continue
        # RPI: y increases from posterior (dorsal) to anterior (ventral)
        dorsal.append(les_y.min() - cord_y.min())
        ventral.append(cord_y.max() - les_y.max())
    if not dorsal:
        # a parasagittal lesion (none on the midsagittal slice): the spared tissue is the whole
        # cord there, reported as half its narrowest AP extent on each side (the established
        # toolbox's convention)
        ap = _cord_ap_extent(cord, x_mid, zs)
        return (None, None) if ap is None else (ap / 2, ap / 2)
    return min(dorsal), min(ventral)


def _cord_ap_extent(cord, x_mid, zs):
    """Narrowest antero-posterior extent (voxels) of the cord on sagittal slice ``x_mid``."""
    extents = [np.count_nonzero(cord[x_mid, :, z]) for z in zs if cord[x_mid, :, z].any()]
    return min(extents) if extents else None


def nli_bridges(cord, z, py):
    """Tissue bridges at the neurological level of injury slice ``z`` when no lesion is seen:
    the cord's AP diameter on its midsagittal slice, half of it on each side (mm)."""
    if not 0 <= z < cord.shape[2] or not cord[:, :, z].any():
        raise ImageError(f"No spinal cord on the NLI slice {z} (RPI slices 0 to {cord.shape[2] - 1})")
    x_mid = int(round(np.argwhere(cord[:, :, z])[:, 0].mean()))
    ap = _cord_ap_extent(cord, x_mid, [z]) * py
    return {"nli_slice": z, "midsagittal_slice": x_mid, "sc_ap_diameter [mm]": ap,
            "dorsal_bridge_width [mm]": ap / 2, "ventral_bridge_width [mm]": ap / 2,
            "total_bridge_width [mm]": ap}


def analyze_lesions(im_lesion: Image, im_cord: Image | None = None, template_dir=None,
                    im_intensity: Image | None = None, nli_slice: int | None = None):
    """Per-lesion measures (list of dicts), the labelled lesion image (input grid and
    orientation), and with ``template_dir`` the per-level and per-tract tables.

    Without a cord segmentation only the volume is measured (as the established toolbox: the
    length, diameter, damage ratio and tissue bridges need the cord). ``im_intensity``: an
    image on the same grid whose mean and standard deviation within each lesion are added
    (columns ``mean_<name>``, ``std_<name>``). ``nli_slice`` (RPI slice of the neurological
    level of injury): with an empty lesion mask, the tissue bridges are measured there instead
    (the cord's midsagittal AP diameter; result key ``nli``).
    """
    from spinalcordtoolbox.centerline.core import centerline_length_per_slice, get_centerline

    im_lesion = im_lesion.copy().require_3d("lesion mask")
    orientation = im_lesion.orientation
    les_rpi = im_lesion.copy().change_orientation("RPI")
    lesion = np.nan_to_num(np.asarray(les_rpi.data, float)) > 0.5
    if not lesion.any() and (nli_slice is None or im_cord is None):
        raise ImageError("The lesion mask is empty" + ("" if nli_slice is not None else
                         " (give -nli-slice and -s to measure the tissue bridges at the injury level)"))
    cord = None
    if im_cord is not None:
        im_cord = im_cord.copy().require_3d("cord segmentation")
        if im_lesion.data.shape != im_cord.data.shape or not np.allclose(im_lesion.affine, im_cord.affine, atol=1e-3):
            raise ImageError("The lesion mask and the cord segmentation are not on the same voxel grid")
        cord = np.nan_to_num(np.asarray(im_cord.copy().change_orientation("RPI").data, float)) > 0.5
        if not cord.any():
            raise ImageError("The cord segmentation is empty")
        outside = np.count_nonzero(lesion & ~cord)
        if outside:
            logger.warning("%d lesion voxel(s) (%.0f %%) lie outside the cord segmentation", outside,
                           100 * outside / lesion.sum())
    intensity = name = None
    if im_intensity is not None:
        im_intensity = im_intensity.copy().require_3d("intensity image (-i)")
        if im_intensity.data.shape != im_lesion.data.shape or \
                not np.allclose(im_intensity.affine, im_lesion.affine, atol=1e-3):
            raise ImageError("The image (-i) and the lesion mask are not on the same voxel grid")
        intensity = np.asarray(im_intensity.change_orientation("RPI").data, float)
        from spinalcordtoolbox.image import split_ext
        import os
        name = os.path.basename(split_ext(im_intensity.absolutepath or "image")[0])
    px, py, pz = les_rpi.pixdim
    if not lesion.any():
        logger.warning("No lesion in the mask: tissue bridges measured at the NLI slice %d", nli_slice)
        empty = Image(np.zeros(lesion.shape, np.uint8), hdr=les_rpi.hdr, affine=les_rpi.affine)
        empty.change_orientation(orientation)
        return {"lesions": [], "levels": [], "tracts": [], "label_image": empty, "count": 0,
                "total_volume": 0.0, "nli": nli_bridges(cord, int(nli_slice), py)}
    labels, n = label_lesions(lesion)
    if cord is not None:
        # per-slice centerline length of the cord (slices outside the cord: the slice thickness)
        cord_img = Image(cord.astype(np.uint8), hdr=les_rpi.hdr, affine=les_rpi.affine)
        _, arr, der, _ = get_centerline(cord_img, algo="bspline", smooth=30)
        slice_len = np.full(lesion.shape[2], pz)
        slice_len[arr[2].astype(int)] = centerline_length_per_slice(der, (px, py, pz))
        cord_area = cord.sum(axis=(0, 1)) * px * py

    levels = tracts = None
    if template_dir is not None:
        levels, tracts = _load_template(Path(template_dir), les_rpi)

    results, level_rows, tract_rows = [], [], []
    for i in range(1, n + 1):
        m = labels == i
        zs = np.flatnonzero(m.any(axis=(0, 1)))
        area = m.sum(axis=(0, 1))[zs] * px * py
        row = {"label": i, "volume [mm3]": float(m.sum() * px * py * pz), "length [mm]": None,
               "max_equivalent_diameter [mm]": None, "max_axial_damage_ratio []": None,
               "dorsal_bridge_width [mm]": None, "ventral_bridge_width [mm]": None,
               "slices": f"{zs.min()}:{zs.max()}"}
        if cord is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                damage = np.where(cord_area[zs] > 0, area / cord_area[zs], np.nan)
            dorsal, ventral = _bridges(m, cord, zs)
            row.update({"length [mm]": float(slice_len[zs].sum()),
                        "max_equivalent_diameter [mm]": float(2 * math.sqrt(area.max() / math.pi)),
                        "max_axial_damage_ratio []": float(np.nanmax(damage)) if np.isfinite(damage).any() else None,
                        "dorsal_bridge_width [mm]": None if dorsal is None else dorsal * py,
                        "ventral_bridge_width [mm]": None if ventral is None else ventral * py})
        if intensity is not None:
            row[f"mean_{name}"] = float(intensity[m].mean())
            row[f"std_{name}"] = float(intensity[m].std())
        if levels is not None:
            vals = levels[m]
            for lev in sorted({int(v) for v in np.unique(vals) if v > 0}):
                level_rows.append({"label": i, "vert_level": lev,
                                   "lesion_percent": 100 * float(np.mean(vals == lev))})
            unassigned = float(np.mean(vals <= 0))
            if unassigned > 0:
                level_rows.append({"label": i, "vert_level": None, "lesion_percent": 100 * unassigned})
        if tracts is not None:
            for tid, name, weights in tracts:
                total = weights.sum()
                tract_rows.append({"label": i, "tract_id": tid, "tract": name,
                                   "tract_percent_involved": 100 * float(weights[m].sum() / total) if total > 0 else None,
                                   "lesion_percent_in_tract": 100 * float(weights[m].sum() / m.sum())})
        results.append(row)

    im_labels = Image(labels.astype(np.uint16 if n > 255 else np.uint8), hdr=les_rpi.hdr, affine=les_rpi.affine)
    im_labels.hdr.set_data_dtype(im_labels.data.dtype)
    im_labels.change_orientation(orientation)
    return {"lesions": results, "levels": level_rows, "tracts": tract_rows, "label_image": im_labels,
            "count": n, "total_volume": float(lesion.sum() * px * py * pz)}


def _load_template(folder: Path, ref_rpi: Image):
    """Levels array and tract weights (RPI) from a warped template folder (sct_warp_template)."""
    tpl = folder / "template" if (folder / "template").is_dir() else folder
    level_files = sorted(tpl.glob("*_levels.nii.gz"))
    levels = None
    if level_files:
        im = Image(level_files[0]).require_3d("level file").change_orientation("RPI")
        if im.data.shape != ref_rpi.data.shape:
            raise ImageError(f"The template levels {im.data.shape} are not on the lesion's grid "
                             f"{ref_rpi.data.shape}: give the template warped to the subject")
        levels = np.rint(np.nan_to_num(np.asarray(im.data, float)))
    atlas_dir = folder / "atlas"
    tracts = None
    if atlas_dir.is_dir():
        tracts = []
        for tid, name, path in read_atlas(atlas_dir):
            im = Image(path).require_3d("atlas tract").change_orientation("RPI")
            if im.data.shape != ref_rpi.data.shape:
                raise ImageError(f"Atlas file {path.name} {im.data.shape} is not on the lesion's "
                                 f"grid {ref_rpi.data.shape}")
            tracts.append((tid, name, np.nan_to_num(np.asarray(im.data, float))))
    if levels is None and tracts is None:
        raise ImageError(f"No *_levels.nii.gz nor atlas/ in the template folder {folder}")
    return levels, tracts


def write_xlsx(result: dict, path):
    """One workbook: sheets 'measures', and 'levels' / 'tracts' when computed."""
    from openpyxl import Workbook

    from spinalcordtoolbox.utils.fs import atomic_output, check_not_input

    check_not_input(path)
    wb = Workbook()
    sheets = [("measures", result["lesions"] or ([result["nli"]] if result.get("nli") else [])),
              ("levels", result["levels"]), ("tracts", result["tracts"])]
    first = True
    for name, rows in sheets:
        if not rows and not first:
            continue
        ws = wb.active if first else wb.create_sheet(name)
        ws.title = name
        first = False
        cols = list(rows[0]) if rows else []
        ws.append(cols)
        for r in rows:
            ws.append([r[c] for c in cols])
    with atomic_output(path) as tmp:
        wb.save(tmp)
    return path

