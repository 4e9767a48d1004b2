"""Run one ``sct_deepseg`` task on an image: predict, split into the task's outputs, post-process."""
from __future__ import annotations

import logging

import numpy as np

from spinalcordtoolbox.deepseg import postprocessing as pp
from spinalcordtoolbox.deepseg.models import MODELS, task_info
from spinalcordtoolbox.image import Image, check_same_grid, empty_like

logger = logging.getLogger(__name__)


def check_runnable(task: str, step1_only=False, soft_ms_lesion=False, thr=None, single_fold=False,
                   label_vert=False):
    """Raise a clear error for tasks or options this toolbox cannot run (before any work)."""
    info = task_info(task)
    frameworks = {MODELS[m]["framework"] for m in info["models"]}
    if "totalspineseg" in frameworks and thr is not None:
        raise ValueError(f"-thr does not apply to '{task}' (label maps and soft masks are written as is)")
    if step1_only and "totalspineseg" not in frameworks:
        raise ValueError("-step1-only applies to the 'totalspineseg' task only")
    if label_vert and "label_vert_outputs" not in info:
        raise ValueError("-label-vert applies to the 'spine' task only")
    if label_vert and step1_only:
        raise ValueError("-label-vert 1 runs both TotalSpineSeg steps: it cannot be combined with "
                         "-step1-only 1")
    if soft_ms_lesion and task != "lesion_ms":
        raise ValueError("-soft-ms-lesion applies to the 'lesion_ms' task only")
    pp.check_threshold(thr)


def nnunet_outputs(model_dir, soft=False) -> dict:
    """Output suffix -> label values, from the installed model's ``dataset.json``."""
    from spinalcordtoolbox.deepseg.inference import find_nnunet_folders, output_classes, read_model_json
    dataset, _ = read_model_json(find_nnunet_folders(model_dir)[0])
    return output_classes(dataset, soft=soft)


def is_ivadomed(task: str) -> bool:
    return MODELS[task_info(task)["models"][-1]]["framework"] == "ivadomed"


def output_suffixes(task: str, model_dirs, soft=False, step1_only=False, label_vert=False) -> list[str]:
    """The suffixes of the files ``task`` writes with the installed models."""
    if is_ivadomed(task):
        return list(task_info(task)["outputs"])
    if "totalspineseg_outputs" in task_info(task):
        return [suffix for _, suffix in totalspineseg_plan(task, step1_only, label_vert)[1]]
    return list(nnunet_outputs(model_dirs[-1], soft))


def check_inputs(task: str, n_images: int, contrasts=None):
    """Raise a clear error when the number of images (-i) or their contrasts (-c) do not fit
    ``task``: one image, except multi-contrast ivadomed tasks (one per contrast, named by -c)."""
    needed = MODELS[task_info(task)["models"][-1]]["contrasts"]
    if len(needed) == 1 or not is_ivadomed(task):
        if n_images != 1:
            raise ValueError(f"Task '{task}' takes one image (-i), got {n_images}")
        if contrasts:
            raise ValueError(f"-c applies to multi-contrast tasks only ('{task}' takes one image)")
        return
    example = (f"e.g. -i {' '.join(c + '.nii.gz' for c in needed)} -c {' '.join(needed)}")
    if n_images != len(needed) or not contrasts or len(contrasts) != n_images:
        raise ValueError(f"Task '{task}' takes {len(needed)} images, one per contrast ({', '.join(needed)}), "
                         f"with their contrasts in the same order with -c ({example})")
    if sorted(contrasts) != sorted(needed):
        raise ValueError(f"-c {' '.join(contrasts)}: task '{task}' needs the contrasts {', '.join(needed)} "
                         f"once each ({example})")


def ivadomed_inputs(task: str, images, contrasts=None) -> list:
    """The images each model of an ivadomed task takes, in its contrast order (as the established
    toolbox orders them: by the model's contrasts, matched to -c)."""
    names = task_info(task)["models"]
    check_inputs(task, len(images), contrasts)
    if not contrasts:
        return [list(images)] * len(names)
    by_contrast = dict(zip(contrasts, images))
    return [[by_contrast[c] for c in MODELS[name]["contrasts"]] for name in names]


def segment_ivadomed(im, task: str, model_dirs, *, thr=None, largest=False, fill_holes=False,
                     remove_small=None, contrasts=None) -> dict:
    """An ivadomed task: the network's channels in the order of the task's label values. As in the
    established toolbox, the model's own config decides the default post-processing (``thr``
    None or 0 keeps its binarisation; ``largest``/``fill_holes`` off remove its steps), the same
    options apply to every model of a cascade, and a cascade's first model (cord localisation)
    gives the prior the next one crops around. ``im``: one Image, or the images of a
    multi-contrast task with their ``contrasts``."""
    from spinalcordtoolbox.deepseg.ivadomed_runner import predict as predict_ivadomed

    info = task_info(task)
    images = list(im) if isinstance(im, (list, tuple)) else [im]
    inputs = ivadomed_inputs(task, images, contrasts)
    if len(model_dirs) != len(inputs):
        raise ValueError(f"Task '{task}' runs {len(inputs)} models, {len(model_dirs)} installed folders given")
    prior = None
    for k, (folder, imgs) in enumerate(zip(model_dirs, inputs)):
        channels = predict_ivadomed(imgs, folder, thr=thr, largest=largest, fill_holes=fill_holes,
                                    remove_small=remove_small, prior=prior)
        if k < len(inputs) - 1:
            prior = channels[0]  # ivadomed's fname_prior: the first output of the previous model
    outputs = {}
    for suffix, values in info["outputs"].items():
        if values[0] > len(channels):
            raise ValueError(f"The model of '{task}' gives {len(channels)} output(s); {suffix} needs "
                             f"channel {values[0]}")
        out = channels[values[0] - 1]
        if not np.any(out.data):
            logger.warning("WARNING: the %s output is empty: no structure was found in the image", suffix)
        outputs[suffix] = out
    return outputs


def totalspineseg_plan(task: str, step1_only=False, label_vert=False) -> tuple[bool, list]:
    """(run step 1 only?, [(TotalSpineSeg output folder, suffix written)]) for a TotalSpineSeg task:
    step 2 runs only when an output needs it (``spine`` without ``label_vert``: the disc labels
    of step 1 only, as the established toolbox)."""
    from spinalcordtoolbox.deepseg.totalspineseg import STEP2_FOLDERS, folders_for
    info = task_info(task)
    if label_vert:
        pairs = [tuple(p) for p in info["label_vert_outputs"]]
    else:
        names = info["totalspineseg_outputs"]
        pairs = [(f, names[f]) for f in folders_for(step1_only) if f in names]
    return not any(f in STEP2_FOLDERS for f, _ in pairs), pairs


def _segment_totalspineseg(im: Image, task: str, model_dir, *, largest, fill_holes, remove_small,
                           device, step1_only, label_vert=False) -> dict:
    if largest or fill_holes or remove_small:
        raise ValueError(f"-largest, -fill-holes and -remove-small do not apply to '{task}' "
                         f"(TotalSpineSeg does its own post-processing)")
    from spinalcordtoolbox.deepseg.totalspineseg import run_totalspineseg
    verbose = logging.getLogger("spinalcordtoolbox").getEffectiveLevel() <= logging.DEBUG
    run_step1_only, pairs = totalspineseg_plan(task, step1_only, label_vert)
    result = run_totalspineseg(im, model_dir, step1_only=run_step1_only, device=device, verbose=verbose)
    return {suffix: result[folder] for folder, suffix in pairs}


def postprocess(data: np.ndarray, *, thr=None, largest=False, fill_holes=False, remove_small=None,
                voxel_volume=1.0) -> np.ndarray:
    """The established toolbox's post-processing chain on one output (see postprocessing.py)."""
    data = pp.threshold(data, thr)
    if largest:
        data = pp.keep_largest_object(data)
    if fill_holes:
        data = pp.fill_holes(data)
    if remove_small:
        sizes, unit = pp.parse_sizes(remove_small)
        if len(sizes) != 1:
            raise ValueError(f"-remove-small: give one size for the output ({len(sizes)} given)")
        data = pp.remove_small_objects(data, sizes[0], unit, voxel_volume=voxel_volume)
    return data


def segment(im, task: str, model_dirs, *, thr=None, largest=False, fill_holes=False,
            remove_small=None, single_fold=False, device="auto", soft=False, test_time_aug=False,
            step1_only=False, label_vert=False, contrasts=None) -> dict:
    """Segment ``im`` with ``task``; returns {output suffix: Image on ``im``'s grid}.

    ``im``: the Image (or, for multi-contrast tasks, the Images named by ``contrasts``).
    ``model_dirs``: installed model folders (see :mod:`spinalcordtoolbox.deepseg.install`).
    ``thr``: binarise each output above this value (0/None: as predicted). ``largest``: keep
    the largest object (always on for ``spinalcord``). ``remove_small``: sizes such as
    ["10mm3"] or ["5vox"]. ``soft``: lesion_ms's soft lesion map. ``test_time_aug``: nnU-Net's
    test-time mirroring. ``label_vert``: ``spine``'s full segmentation (both TotalSpineSeg steps).
    """
    info = task_info(task)
    pp.check_threshold(thr)
    if is_ivadomed(task):
        return segment_ivadomed(im, task, model_dirs, thr=thr, largest=largest, fill_holes=fill_holes,
                                remove_small=remove_small, contrasts=contrasts)
    if isinstance(im, (list, tuple)):
        check_inputs(task, len(im), contrasts)
        im = im[0]
    if "totalspineseg_outputs" in info:
        return _segment_totalspineseg(im, task, model_dirs[-1], largest=largest, fill_holes=fill_holes,
                                      remove_small=remove_small, device=device, step1_only=step1_only,
                                      label_vert=label_vert)
    from spinalcordtoolbox.deepseg.inference import output_classes, predict

    result = predict(im, model_dirs[-1], single_fold=single_fold, device=device,
                     test_time_aug=test_time_aug, soft=soft)
    raw = {}
    for suffix, values in output_classes(result["dataset"], soft=soft).items():
        if suffix == "_msLesionSoft":
            raw[suffix] = result["soft"].data
        elif values is None:
            raw[suffix] = result["labels"].data
        else:
            raw[suffix] = np.isin(result["labels"].data, values).astype(np.uint8)
    largest = largest or bool(info.get("largest"))
    voxel_volume = float(np.prod(im.pixdim[:3]))
    outputs = {}
    for suffix, data in raw.items():
        data = postprocess(data, thr=thr, largest=largest, fill_holes=fill_holes, remove_small=remove_small,
                           voxel_volume=voxel_volume)
        if not np.any(data):
            logger.warning("WARNING: the %s output is empty: no structure was found in the image", suffix)
        outputs[suffix] = empty_like(im, data)
    return outputs


def output_paths(input_path, suffixes, output=None) -> dict:
    """Where each output goes, by the established toolbox's rule: next to the input as
    ``<input><suffix>.nii.gz``; with ``output``, that name for a single output, and the suffix
    inserted before its extension for several (``.nii.gz`` added when it has none)."""
    import os

    from spinalcordtoolbox.image import add_suffix, split_ext

    paths = {}
    for suffix in suffixes:
        if output:
            base = output if output.endswith((".nii", ".nii.gz")) else output + ".nii.gz"
            paths[suffix] = base if len(suffixes) == 1 else add_suffix(base, suffix)
        else:
            folder = os.path.dirname(os.path.abspath(input_path))
            paths[suffix] = os.path.join(folder, split_ext(input_path)[0] + suffix + ".nii.gz")
    return paths


def _write_sidecar(path, command_line, model_names):
    """``<output>.json`` next to each output: what made it (BIDS ``GeneratedBy``)."""
    import json

    import spinalcordtoolbox
    from spinalcordtoolbox.deepseg.install import installed_source
    from spinalcordtoolbox.image import split_ext
    from spinalcordtoolbox.utils.fs import atomic_write_text

    urls = []
    for name in model_names:
        source = installed_source(name) or {}
        src = source.get("source") or MODELS[name]["urls"]
        urls += [u for lst in (src.values() if isinstance(src, dict) else [src]) for u in lst]
    sidecar = {"GeneratedBy": [{"Name": f"spinalcordtoolbox: {command_line}",
                                "Version": spinalcordtoolbox.__version__,
                                "CodeURL": "https://github.com/spinalcordtoolbox/spinalcordtoolbox",
                                "ModelURL": urls}]}
    import os
    stem, _ = split_ext(path)
    atomic_write_text(os.path.join(os.path.dirname(os.path.abspath(path)), stem + ".json"),
                      json.dumps(sidecar, indent=4))


def run_task(task: str, input_path=None, *, output=None, install_only=False, custom_urls=None,
             thr=None, largest=False, fill_holes=False, remove_small=None, single_fold=False,
             test_time_aug=False, soft=False, step1_only=False, label_vert=False, device="auto", qc=None,
             qc_dataset=None, qc_subject=None, qc_seg=None, qc_plane="axial", command_line=None,
             contrasts=None):
    """What ``sct_deepseg TASK`` does: install the models, segment ``input_path`` (a path, or
    the paths of a multi-contrast task's images with their ``contrasts``), write the outputs
    (+ JSON sidecars, named after the first image) and a QC entry per output. Returns
    {suffix: path}, or the installed folders with ``install_only``."""
    from spinalcordtoolbox.deepseg.install import install_task_models
    from spinalcordtoolbox.utils.fs import check_not_input

    info = task_info(task)
    if install_only:
        return install_task_models(task, custom_urls, force=True)
    if not input_path:
        raise ValueError("Give an input image with -i")
    input_paths = list(input_path) if isinstance(input_path, (list, tuple)) else [input_path]
    check_runnable(task, step1_only, soft, thr, single_fold, label_vert)
    check_inputs(task, len(input_paths), contrasts)
    input_path = input_paths[0]
    images = [Image(p).require_3d("input image") for p in input_paths]
    for other, path in zip(images[1:], input_paths[1:]):  # before a download, not after it
        check_same_grid(other, images[0], (f"input image {path}", f"first input image {input_path}"))
    folders = install_task_models(task, custom_urls)
    suffixes = output_suffixes(task, folders, soft=soft, step1_only=step1_only, label_vert=label_vert)
    paths = output_paths(input_path, suffixes, output)
    for path in paths.values():
        check_not_input(path)  # before the work, not after it
    outputs = segment(images, task, folders, thr=thr, largest=largest, fill_holes=fill_holes,
                      remove_small=remove_small, single_fold=single_fold, device=device, soft=soft,
                      test_time_aug=test_time_aug, step1_only=step1_only, label_vert=label_vert,
                      contrasts=contrasts)
    for suffix, out in outputs.items():
        out.save(paths[suffix])
        _write_sidecar(paths[suffix], command_line or f"sct_deepseg {task}", info["models"])
    if qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        for suffix, out in outputs.items():
            if qc_seg is None and not np.any(out.data):
                logger.warning("No QC for the empty output %s", paths[suffix])
                continue
            generate_qc(input_path, qc, process="sct_deepseg", seg=paths[suffix], plane=qc_plane,
                        centre_seg=qc_seg if qc_plane == "axial" else None, command_line=command_line,
                        dataset=qc_dataset, subject=qc_subject)
    if info.get("citation"):
        print(f"\nIf you use this model, please cite: {info['citation']}")
    return {suffix: paths[suffix] for suffix in outputs}
