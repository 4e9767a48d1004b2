"""Run an installed nnU-Net v2 model on an Image and bring the result back to the input's grid.

The model folder is nnU-Net's own results format (``dataset.json``, ``plans.json``,
``fold_<k>/checkpoint_final.pth``). nnU-Net's predictor does the model's preprocessing
(crop to non-zero, intensity normalisation, resampling to the plans' spacing) and resamples
its prediction back to the array it was given. Our part is the axis convention: models of
the zoo were trained on images in the toolbox's ``LPI`` orientation read as nnU-Net's
SimpleITK/nibabel readers do, i.e. arrays in (z, y, x) order with reversed spacing. So the
input is reoriented, transposed, predicted, and the label map transposed and reoriented back:
both are exact permutations, so the output lies on the input's exact grid and header.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, empty_like

logger = logging.getLogger(__name__)

#: orientation (toolbox naming) the zoo's nnU-Net models expect, unless the model's
#: dataset.json says otherwise with a "sct_orientation" key
DEFAULT_ORIENTATION = "LPI"


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


def _make_predictor(folder: Path, folds, device, show_progress: bool):
    _ensure_nnunet_env()
    with contextlib.redirect_stdout(io.StringIO()):  # nnunetv2 prints device notes on stdout
        from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
        predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=True,
                                    perform_everything_on_device=device.type == "cuda", device=device,
                                    verbose=False, verbose_preprocessing=False, allow_tqdm=show_progress)
        predictor.initialize_from_trained_model_folder(str(folder), use_folds=folds,
                                                       checkpoint_name=_checkpoint_name(folder, folds[0]))
    return predictor


def model_orientation(folder: Path) -> str:
    with open(folder / "dataset.json", encoding="utf-8") as f:
        return json.load(f).get("sct_orientation", DEFAULT_ORIENTATION)


def predict(im: Image, model_dir, single_fold=False, device="auto") -> tuple[Image, Image]:
    """Segment ``im`` with the nnU-Net model(s) in ``model_dir``.

    Several nnU-Net folders in ``model_dir`` (ensembles published one folder per fold) are
    averaged. Returns ``(labels, probabilities)`` on ``im``'s grid: the integer label map
    and, per voxel, the probability of the foreground (1 - P(background)).
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
    folders = find_nnunet_folders(model_dir)
    show = os.environ.get("SCT_VERBOSE") != "0"
    probs_sum, n_runs = None, 0
    orientation_in = im.orientation
    for folder in progress_bar(folders, desc="Models", unit="model") if len(folders) > 1 else folders:
        folds = available_folds(folder)
        if not folds:
            raise ImageError(f"No trained fold (fold_*/checkpoint_*.pth) in {folder}")
        folds = folds[:1] if single_fold else folds
        logger.info("Running %s (fold%s %s) on %s", folder.name, "s" if len(folds) > 1 else "",
                    ", ".join(folds), torch_device)
        predictor = _make_predictor(folder, folds, torch_device, show)
        work = im.copy().change_orientation(model_orientation(folder))
        data = np.transpose(work.data.astype(np.float32), (2, 1, 0))[None]
        spacing = [float(s) for s in work.pixdim[::-1]]
        with torch.no_grad():
            _, probs = predictor.predict_single_npy_array(data, {"spacing": spacing}, None, None, True)
        probs = np.transpose(np.asarray(probs, dtype=np.float32), (0, 3, 2, 1))  # (class, x, y, z)
        probs_sum = probs if probs_sum is None else probs_sum + probs
        n_runs += 1
        grid = work
    probs = probs_sum / n_runs
    labels = np.argmax(probs, axis=0).astype(np.uint8)
    foreground = (1.0 - probs[0]).astype(np.float32)
    out_labels = empty_like(grid, labels).change_orientation(orientation_in)
    out_probs = empty_like(grid, foreground).change_orientation(orientation_in)
    # exact permutations: put the input's own header back (keeps its qform/sform codes)
    return empty_like(im, out_labels.data), empty_like(im, out_probs.data)
