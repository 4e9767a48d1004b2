"""generate_qc: add one entry (images + metadata) to an HTML QC report.

Every command with ``-qc <folder>`` calls :func:`generate_qc` once its result is written::

    if args.qc:
        generate_qc(args.i, args.qc, process="sct_deepseg_sc", seg=fname_seg,
                    command_line=" ".join(sys.argv), dataset=args.qc_dataset, subject=args.qc_subject)

What is shown follows from the arguments:

- ``seg`` = a segmentation: axial mosaic centred on the cord, segmentation overlaid in colour;
- ``seg`` = point labels (or ``plane="sagittal"``): sagittal slice, labels as dots with values;
- ``image2`` = a second image (registration: ``image`` = destination, ``image2`` = moved source;
  before/after): the page toggles between the two, on an axial mosaic when a ``seg`` centres it;
- ``shapes`` = outlines in world coordinates (:class:`~spinalcordtoolbox.reports.views.Shape`,
  e.g. the cord's fitted ellipse and diameters per slice): drawn on the axial mosaic, on the
  tile of their slice;
- no ``seg``: sagittal slice, or axial tiles of the whole field of view for images of few
  axial slices (see :func:`default_plane`).
"""
from __future__ import annotations

import datetime
import logging
import os
import shutil
from pathlib import Path

import numpy as np

import spinalcordtoolbox
from spinalcordtoolbox.utils.cli import choice_error

logger = logging.getLogger(__name__)

PLANES = ("axial", "sagittal")
#: Without a segmentation, images with fewer axial slices than this are shown as axial tiles.
MIN_SLICES_FOR_SAGITTAL = 15


def _path_of(img):
    if img is None:
        return None
    path = getattr(img, "absolutepath", None) if not isinstance(img, (str, os.PathLike)) else img
    return os.path.abspath(os.fspath(path)) if path else None


def metadata_from_path(path) -> dict:
    """Default dataset / subject / contrast from an image path.

    BIDS-like paths (``<dataset>/sub-01[/ses-01]/anat/sub-01_T2w.nii.gz``) give the dataset
    folder, the ``sub-`` folder and the modality folder; other paths use the parent folder as
    contrast, the one above as subject and the one above that as dataset. Relative paths are
    taken from the working folder (``cd t2; sct_deepseg -i t2.nii.gz -qc ~/qc`` files the entry
    under t2).
    """
    if not path:
        return {"dataset": "unknown", "subject": "unknown", "contrast": "unknown"}
    parts = Path(os.path.abspath(path)).parent.parts[1:]  # [1:]: the root ('/') names nothing
    contrast = parts[-1] if parts else "unknown"
    subs = [i for i, p in enumerate(parts) if p.startswith("sub-")]
    if subs:
        i = subs[-1]
        subject, dataset = parts[i], parts[i - 1] if i > 0 else "unknown"
    else:
        subject = parts[-2] if len(parts) > 1 else "unknown"
        dataset = parts[-3] if len(parts) > 2 else "unknown"
    return {"dataset": dataset, "subject": subject, "contrast": contrast}


def default_plane(im, im_seg, labels: bool) -> str:
    """Sagittal for point labels; axial mosaic around the cord for a segmentation; without
    one, sagittal when the image covers enough slices to show the cord's length, else axial
    (e.g. thick-slice MT or fMRI with a handful of axial slices)."""
    if labels:
        return "sagittal"
    if im_seg is not None:
        return "axial"
    return "sagittal" if im.data.shape[2] >= MIN_SLICES_FOR_SAGITTAL else "axial"


def check_qc_inputs(image, seg=None, qc_folder=None):
    """Refuse, before a command does its work, QC inputs that cannot give a meaningful entry:
    an image that is not 3-D/4-D, a segmentation lying outside the image's field of view, a
    QC folder that cannot be written. Returns the prepared (RPI) image and segmentation."""
    from spinalcordtoolbox.image import check_overlap
    from spinalcordtoolbox.reports import views
    from spinalcordtoolbox.utils.fs import check_writable_folder

    if qc_folder is not None:
        check_writable_folder(qc_folder, "QC folder")
    im = views.prepare(image, "QC image")
    im_seg = views.prepare(seg, "QC segmentation") if seg is not None else None
    if im_seg is not None and np.any(im_seg.data):
        check_overlap(im, im_seg, names=("QC image", "QC segmentation"))
    return im, im_seg


def generate_qc(image, qc_folder, *, process, seg=None, image2=None, plane=None, command_line=None,
                dataset=None, subject=None, contrast=None, shapes=None, centre_seg=None, source=None,
                fov_mm=None, resolution=None) -> Path:
    """Render one QC entry into ``qc_folder`` and update its index; returns the entry folder.

    ``image``, ``seg`` and ``image2`` are paths or :class:`~spinalcordtoolbox.image.Image`
    objects, in any orientation and on any grids (sampled through world coordinates).
    ``shapes``: list of :class:`~spinalcordtoolbox.reports.views.Shape` drawn on axial views
    (ignored, with a log message, on sagittal ones). ``centre_seg``: a segmentation that
    centres the axial mosaic instead of ``seg`` (e.g. the cord for a lesion mask). ``source``:
    the command's input file, giving the dataset/subject/contrast when ``image`` is not a file of
    the subject (e.g. the template in template space). ``fov_mm``/``resolution``: side (mm) and
    sampling (mm/pixel) of axial tiles, for structures smaller than the cord (gray matter).

    Re-running a command on the same files replaces its previous entry (no duplicates).
    """
    from spinalcordtoolbox.reports import records, render, views

    qc_folder = Path(qc_folder).absolute()
    if not process:
        raise ValueError("generate_qc needs the name of the process (e.g. 'sct_deepseg_sc')")
    if plane is not None and plane not in PLANES:
        raise choice_error("QC plane", plane, PLANES)
    im, im_seg = check_qc_inputs(image, seg)
    im2 = views.prepare(image2, "second image") if image2 is not None else None
    labels = im_seg is not None and views.is_point_labels(im_seg)
    if plane is None:
        plane = default_plane(im, im_seg, labels)
    if plane == "axial":
        centre = views.prepare(centre_seg, "segmentation") if centre_seg is not None else None
        zoom = {k: v for k, v in (("fov_mm", fov_mm), ("resolution", resolution)) if v}
        view = views.axial_view(im, im_seg, im2, shapes=shapes, centre_seg=centre, **zoom)
    else:
        if shapes:
            logger.info("QC: shapes are drawn on axial views only; %d ignored", len(shapes))
        view = views.sagittal_view(im, im_seg, im2, labels=labels)

    meta = metadata_from_path(_path_of(source) or _path_of(image) or _path_of(image2) or _path_of(seg))
    meta.update({k: v for k, v in (("dataset", dataset), ("subject", subject), ("contrast", contrast)) if v})
    folder = records.new_entry_folder(qc_folder, meta["dataset"], meta["subject"], meta["contrast"], process)
    try:
        width, height = render.draw_view(view, folder / "background.png", folder / "overlay.png")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # no half-made entry left behind
        raise
    rel = folder.relative_to(qc_folder).as_posix()
    kind = "toggle" if im2 is not None else ("labels" if labels else ("seg" if im_seg is not None else "image"))
    record = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "dataset": meta["dataset"], "subject": meta["subject"], "contrast": meta["contrast"],
        "process": process,
        "command": command_line or "",
        "version": spinalcordtoolbox.__version__,
        "plane": plane, "kind": kind,
        "background": f"{rel}/background.png", "overlay": f"{rel}/overlay.png",
        "width": width, "height": height,
        "image": _path_of(image), "seg": _path_of(seg), "image2": _path_of(image2),
        "source": _path_of(source),
        # axial mosaics: the slice of each tile (RPI, inferior = 0), for the page's hover label
        "slices": [t[2] for t in view.tiles], "tile": view.tile_size,
    }
    records.write_record(folder, record)
    index = records.rebuild_index(qc_folder, superseded_by=folder)
    logger.info("QC entry added: %s\nTo see the QC report, open: %s", folder, index)
    return folder
