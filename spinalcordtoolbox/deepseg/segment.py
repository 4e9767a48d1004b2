"""Run one ``sct_deepseg`` task on an image: install its models, predict, split and clean outputs."""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.deepseg import postprocessing as pp
from spinalcordtoolbox.deepseg.models import MODELS, task_info
from spinalcordtoolbox.image import Image, empty_like

logger = logging.getLogger(__name__)


def check_runnable(task: str, step1_only=False, soft_ms_lesion=False):
    """Raise a clear error for tasks or options this toolbox cannot run."""
    info = task_info(task)
    frameworks = {MODELS[m]["framework"] for m in info["models"]}
    if "ivadomed" in frameworks:
        raise NotImplementedError(
            f"Task '{task}' uses a model of the ivadomed framework, which this toolbox does not run; "
            f"use 'spinalcord' (contrast-agnostic nnU-Net) for cord segmentation")
    if "totalspineseg" in frameworks:
        raise NotImplementedError(
            "Task 'totalspineseg' needs the 'totalspineseg' package (pip install totalspineseg), "
            "which this toolbox does not bundle yet")
    if step1_only:
        raise ValueError("-step1-only applies to the 'totalspineseg' task only")
    if soft_ms_lesion and task != "lesion_ms":
        raise ValueError("-soft-ms-lesion applies to the 'lesion_ms' task only")


def segment(im: Image, task: str, model_dirs, *, thr=None, largest=False, fill_holes=False,
            remove_small=None, single_fold=False, device="auto", soft=False) -> dict:
    """Segment ``im`` with ``task``; returns {output suffix: Image on ``im``'s grid}.

    ``model_dirs``: installed model folders (see :mod:`spinalcordtoolbox.deepseg.install`).
    ``thr`` thresholds the foreground probability instead of nnU-Net's argmax (binary tasks).
    ``remove_small``: a size such as "10mm3" or "5vox". ``soft``: write the probability map.
    """
    from spinalcordtoolbox.deepseg.inference import predict

    info = task_info(task)
    # every nnU-Net task has one model; two-model tasks (cord localisation, then tumour) are
    # ivadomed ones, refused by check_runnable
    labels, probs = predict(im, model_dirs[-1], single_fold=single_fold, device=device)
    outputs = {}
    for suffix, values in info["outputs"].items():
        if values is None:
            outputs[suffix] = labels
            continue
        if soft:
            outputs[suffix] = probs
            continue
        binary_task = len(info["outputs"]) == 1 and values == [1]
        if thr is not None and binary_task:
            mask = pp.threshold(probs.data, thr)
        else:
            if thr is not None:
                logger.warning("-thr ignored for the multi-class task '%s'", task)
            mask = np.isin(labels.data, values)
        if largest or info.get("largest"):
            mask = pp.keep_largest_object(mask)
        if fill_holes:
            mask = pp.fill_holes(mask)
        if remove_small:
            size, unit = pp.parse_size(remove_small)
            mask = pp.remove_small_objects(mask, size, unit, voxel_volume=float(np.prod(im.pixdim)))
        if not mask.any():
            logger.warning("WARNING: the %s output is empty: no structure was found in the image", suffix)
        outputs[suffix] = empty_like(im, mask.astype(np.uint8))
    return outputs
