"""Run an installed nnU-Net v2 model on an Image and bring its label map back to the input's grid.

The model folder is nnU-Net's own results format (``dataset.json``, ``plans.json``,
``fold_<k>/checkpoint_final.pth``, optionally ``trainer_class.py``). nnU-Net's predictor does the
model's preprocessing (crop to non-zero, intensity normalisation, resampling to the plans'
spacing) and turns the network output into a label map with its label manager, which is what
makes region-based models (one sigmoid channel per region, ``regions_class_order``) right: an
argmax over their channels is not a segmentation.

Our part is the geometry and the conventions of the established toolbox:

- orientation: the image is reoriented to the model's orientation (toolbox naming) taken from
  the ``image_orientation`` key of ``dataset.json``; without it, ``AIL`` for the region-based
  lesion datasets (``RegionBasedLesionSeg`` in the dataset name) and ``LPI`` otherwise. The
  array is then transposed to (z, y, x) with reversed spacing, as nnU-Net's SimpleITK reader
  gives it. Both are exact permutations, so the label map lands on the input's exact grid;
- several folds (one folder with several ``fold_*``, or one folder per fold as the lesion_ms
  release) are ensembled by majority vote of the per-fold label maps (a voxel is foreground
  when more than half of the folds say so); ``single_fold`` runs fold 1 when present (the
  established toolbox's choice), else the first one;
- test-time mirroring is off unless asked for.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, empty_like

logger = logging.getLogger(__name__)

#: orientation (toolbox naming) of the zoo's nnU-Net models without an "image_orientation" key
DEFAULT_ORIENTATION = "LPI"
#: ... and of the region-based lesion datasets without one
REGION_LESION_ORIENTATION = "AIL"
#: fold used by ``single_fold`` when the model has it
PREFERRED_SINGLE_FOLD = "1"


def find_nnunet_folders(model_dir) -> list[Path]:
    """nnU-Net results folders (dataset.json + plans.json + fold_*) under ``model_dir``, sorted."""
    model_dir = Path(model_dir)
    found = sorted({p.parent for p in model_dir.rglob("plans.json")
                    if (p.parent / "dataset.json").is_file() and any(p.parent.glob("fold_*"))})
    if not found:
        raise ImageError(f"No nnU-Net model (dataset.json, plans.json, fold_*/) found in {model_dir}")
    return found


def _checkpoint_name(folder: Path, fold: str) -> str:
    for name in ("checkpoint_final.pth", "checkpoint_best.pth"):
        if (folder / f"fold_{fold}" / name).is_file():
            return name
    raise ImageError(f"No checkpoint in {folder / f'fold_{fold}'}")


def available_folds(folder: Path) -> list[str]:
    folds = sorted(p.name[len("fold_"):] for p in folder.glob("fold_*") if p.is_dir())
    return [f for f in folds if any((folder / f"fold_{f}").glob("checkpoint_*.pth"))]


def fold_list(model_dir, single_fold=False) -> list[tuple[Path, str]]:
    """Every (nnU-Net folder, fold) of a model; one pair with ``single_fold``."""
    pairs = [(folder, fold) for folder in find_nnunet_folders(model_dir) for fold in available_folds(folder)]
    if not pairs:
        raise ImageError(f"No trained fold (fold_*/checkpoint_*.pth) in {model_dir}")
    if single_fold:
        preferred = [p for p in pairs if p[1] == PREFERRED_SINGLE_FOLD]
        pairs = preferred[:1] or pairs[:1]
    return pairs


def resolve_device(device: str = "auto"):
    """torch device from "auto" (CUDA when available), "cpu" or "cuda[:k]"."""
    import torch

    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("-device cuda was asked for but no CUDA GPU is available to torch; use -device cpu")
    if device != "cpu" and not device.startswith("cuda"):
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("device", device, ["auto", "cpu", "cuda"])
    return torch.device(device)


def _ensure_nnunet_env():
    # nnunetv2 warns at import when these are unset; inference does not use them
    root = os.path.join(tempfile.gettempdir(), "sct_nnunet")
    for var in ("nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results"):
        if not os.environ.get(var):
            os.environ[var] = os.path.join(root, var)
    # nnU-Net's default of 8 torch threads for resampling oversubscribes small machines (read at
    # import): at most the number of cores
    os.environ.setdefault("nnUNet_def_n_proc", str(max(1, min(8, os.cpu_count() or 1))))


def read_model_json(folder: Path) -> tuple[dict, dict]:
    """(dataset.json, plans.json) of an nnU-Net folder."""
    with open(folder / "dataset.json", encoding="utf-8") as f:
        dataset = json.load(f)
    with open(folder / "plans.json", encoding="utf-8") as f:
        plans = json.load(f)
    return dataset, plans


def model_orientation(dataset_json: dict, dataset_name: str = "") -> str:
    """Orientation (toolbox naming) the model was trained in (see the module docstring)."""
    if dataset_json.get("image_orientation"):
        return str(dataset_json["image_orientation"]).upper()
    if "RegionBasedLesionSeg" in (dataset_name or ""):
        return REGION_LESION_ORIENTATION
    return DEFAULT_ORIENTATION


def load_trainer_class(folder: Path, trainer_name: str):
    """The custom trainer shipped with a model as ``trainer_class.py`` (in the nnU-Net folder or
    the model's root), or None. The file either defines ``get_trainer_class()`` or the class
    named in the checkpoint."""
    for candidate in (folder / "trainer_class.py", folder.parent / "trainer_class.py"):
        if candidate.is_file():
            break
    else:
        return None
    spec = importlib.util.spec_from_file_location(f"sct_trainer_{abs(hash(str(candidate)))}", candidate)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = module.get_trainer_class() if hasattr(module, "get_trainer_class") else getattr(module, trainer_name, None)
    if cls is None:
        raise ImageError(f"{candidate} defines neither get_trainer_class() nor the trainer '{trainer_name}'")
    return cls


def _initialize(predictor, folder: Path, folds: list[str]):
    """Load the model's folds into ``predictor``; nnU-Net's own loader unless the model ships a
    trainer class, which is then used to build the network (same steps as nnU-Net's loader)."""
    import torch

    checkpoint = _checkpoint_name(folder, folds[0])
    first = torch.load(folder / f"fold_{folds[0]}" / checkpoint, map_location="cpu", weights_only=False)
    trainer_class = load_trainer_class(folder, first["trainer_name"])
    if trainer_class is None:
        predictor.initialize_from_trained_model_folder(str(folder), use_folds=folds, checkpoint_name=checkpoint)
        return
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    dataset_json, plans = read_model_json(folder)
    plans_manager = PlansManager(plans)
    configuration_manager = plans_manager.get_configuration(first["init_args"]["configuration"])
    parameters = [first["network_weights"]] + [
        torch.load(folder / f"fold_{f}" / _checkpoint_name(folder, f), map_location="cpu",
                   weights_only=False)["network_weights"] for f in folds[1:]]
    n_in = determine_num_input_channels(plans_manager, configuration_manager, dataset_json)
    n_out = plans_manager.get_label_manager(dataset_json).num_segmentation_heads
    import inspect
    if "plans_manager" in inspect.signature(trainer_class.build_network_architecture).parameters:
        network = trainer_class.build_network_architecture(plans_manager, configuration_manager, n_in, n_out,
                                                           enable_deep_supervision=False)
    else:  # the signature of nnunetv2 < 2.6
        network = trainer_class.build_network_architecture(
            configuration_manager.network_arch_class_name, configuration_manager.network_arch_init_kwargs,
            configuration_manager.network_arch_init_kwargs_req_import, n_in, n_out, enable_deep_supervision=False)
    network.load_state_dict(parameters[0])
    predictor.manual_initialization(network, plans_manager, configuration_manager, parameters, dataset_json,
                                    first["trainer_name"], first.get("inference_allowed_mirroring_axes"))


def _make_predictor(folder: Path, folds, device, show_progress: bool, test_time_aug: bool):
    _ensure_nnunet_env()
    with contextlib.redirect_stdout(io.StringIO()):  # nnunetv2 prints device notes on stdout
        from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
        predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=bool(test_time_aug),
                                    perform_everything_on_device=device.type == "cuda", device=device,
                                    verbose=False, verbose_preprocessing=False, allow_tqdm=show_progress)
        _initialize(predictor, folder, list(folds))
    return predictor


def majority_vote(label_maps: list[np.ndarray]) -> np.ndarray:
    """Per voxel, the label more than half of the maps agree on; background (0) otherwise.

    For binary models this is the established toolbox's rule: the mean of the per-fold masks
    binarised strictly above 0.5.
    """
    if len(label_maps) == 1:
        return label_maps[0]
    stack = np.stack(label_maps)
    out = np.zeros(stack.shape[1:], dtype=stack.dtype)
    for value in np.unique(stack):
        if value == 0:
            continue
        votes = np.count_nonzero(stack == value, axis=0)
        out[2 * votes > len(label_maps)] = value
    return out


def predict(im: Image, model_dir, single_fold=False, device="auto", test_time_aug=False,
            soft=False) -> dict:
    """Segment ``im`` with the nnU-Net model in ``model_dir`` (all its folds, or one).

    Returns ``{"labels": Image, "soft": Image or None, "dataset": dataset.json}``, images on
    ``im``'s grid and header: the (ensembled) label map and, with ``soft``, the established
    toolbox's soft lesion map (per fold: P(class 1) where it beats P(background), else 0;
    averaged over folds).
    """
    import torch

    from spinalcordtoolbox.utils.cli import progress_bar

    im = im.copy().require_3d("input image")
    if min(im.data.shape) < 2:
        raise ImageError(f"The input image must be 3-D with at least 2 voxels along each axis, "
                         f"got shape {im.data.shape}")
    if not np.isfinite(im.data).all():
        raise ImageError("The input image contains NaN or infinite values")
    torch_device = resolve_device(device)
    pairs = fold_list(model_dir, single_fold)
    show = os.environ.get("SCT_VERBOSE") != "0"
    by_folder: dict[Path, list[str]] = {}
    for folder, fold in pairs:
        by_folder.setdefault(folder, []).append(fold)
    label_maps, soft_maps = [], []
    dataset = grid = None
    steps = [(folder, fold) for folder, folds in by_folder.items() for fold in folds]
    iterator = progress_bar(steps, desc="Folds", unit="fold") if len(steps) > 1 and show else steps
    predictors = {}
    for folder, fold in iterator:
        if folder not in predictors:
            logger.info("Running %s (fold%s %s) on %s", folder.name, "s" if len(by_folder[folder]) > 1 else "",
                        ", ".join(by_folder[folder]), torch_device)
            predictors = {folder: _make_predictor(folder, by_folder[folder], torch_device, show, test_time_aug)}
            all_params = predictors[folder].list_of_parameters
        predictor = predictors[folder]
        # one fold at a time: nnU-Net would average the folds' logits, the toolbox votes
        predictor.list_of_parameters = [all_params[by_folder[folder].index(fold)]]
        dataset = predictor.dataset_json
        orientation = model_orientation(dataset, predictor.plans_manager.dataset_name)
        work = im.copy().change_orientation(orientation)
        data = np.transpose(work.data.astype(np.float32), (2, 1, 0))[None]
        spacing = [float(s) for s in work.pixdim[::-1]]
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
            out = predictor.predict_single_npy_array(data, {"spacing": spacing}, None, None, soft)
        seg, probs = (out if soft else (out, None))
        label_maps.append(np.transpose(np.asarray(seg), (2, 1, 0)))
        if soft:
            probs = np.asarray(probs, dtype=np.float32)
            soft_maps.append(np.transpose(np.where(probs[1] > probs[0], probs[1], 0), (2, 1, 0)))
        grid = work
    labels = majority_vote(label_maps)
    dtype = np.uint8 if labels.max(initial=0) < 256 else np.uint16
    out_labels = empty_like(grid, labels.astype(dtype)).change_orientation(im.orientation)
    result = {"labels": empty_like(im, out_labels.data), "soft": None, "dataset": dataset}
    if soft:
        mean = (np.sum(soft_maps, axis=0) / len(soft_maps)).astype(np.float32)
        out_soft = empty_like(grid, mean).change_orientation(im.orientation)
        result["soft"] = empty_like(im, out_soft.data)
    # exact permutations: the input's own header is put back (keeps its qform/sform codes)
    return result


def output_classes(dataset_json: dict, soft=False) -> dict:
    """Output suffix -> label values of the label map, by the model's ``dataset.json`` labels
    and the established toolbox's naming: levels ``lvl1``, ``lvl2``... -> ``_rootlets`` (the
    whole map, value None); a single ``sc`` label -> ``_seg``; the soft lesion map ->
    ``_msLesionSoft``; otherwise one ``_<label>_seg`` per label (a region's values, e.g.
    ``"sc": [1, 2]``, make up its mask)."""
    labels = {k: v for k, v in dataset_json["labels"].items() if k != "background"}
    if labels and all(name == f"lvl{i}" for i, name in enumerate(labels, start=1)):
        return {"_rootlets": None}
    if sorted(labels) == ["sc"]:
        return {"_seg": _values(labels["sc"])}
    if soft:
        return {"_msLesionSoft": None}
    return {f"_{name}_seg": _values(values) for name, values in labels.items()}


def _values(v) -> list[int]:
    return [int(x) for x in (v if isinstance(v, (list, tuple)) else [v])]
