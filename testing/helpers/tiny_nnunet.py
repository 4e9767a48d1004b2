"""Build a tiny nnU-Net v2 model folder fitted to one subject, in nnU-Net's real on-disk format.

No model of the sct_deepseg zoo can be downloaded in the test environment, so the tests fit a
small PlainConvUNet (the architecture nnU-Net instantiates from ``plans.json``) to the t2 test
subject and its manual cord segmentation, with nnU-Net's own preprocessing
(``DefaultPreprocessor.run_case_npy``: crop, z-score, resampling to the plans' spacing), and
save ``dataset.json``, ``plans.json`` and ``fold_0/checkpoint_final.pth`` exactly as nnU-Net's
trainer does. nnU-Net's predictor then loads it like any published model. The image is fed in
the toolbox's LPI orientation, as arrays in (z, y, x) order: the convention of
:mod:`spinalcordtoolbox.deepseg.inference`.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

PATCH = [64, 64]  # one axial slice (y, x), zero-padded
_CACHE: dict = {}


def _plans(shape_zyx):
    arch = {
        "network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
        "arch_kwargs": {
            "n_stages": 4, "features_per_stage": [8, 16, 32, 64], "conv_op": "torch.nn.modules.conv.Conv2d",
            "kernel_sizes": [[3, 3]] * 4, "strides": [[1, 1], [2, 2], [2, 2], [2, 2]],
            "n_conv_per_stage": [2, 2, 2, 2], "n_conv_per_stage_decoder": [2, 2, 2], "conv_bias": True,
            "norm_op": "torch.nn.modules.batchnorm.BatchNorm2d",
            "norm_op_kwargs": {"eps": 1e-05, "affine": True}, "dropout_op": None, "dropout_op_kwargs": None,
            "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": True}},
        "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]}
    resample = "resample_data_or_seg_to_shape"
    return {
        "dataset_name": "Dataset901_TinyCord", "plans_name": "nnUNetPlans",
        "original_median_spacing_after_transp": [1.0, 1.0, 1.0],
        "original_median_shape_after_transp": list(shape_zyx),
        "image_reader_writer": "NibabelIO", "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
        "configurations": {"2d": {
            "data_identifier": "nnUNetPlans_2d", "preprocessor_name": "DefaultPreprocessor",
            "batch_size": 8, "patch_size": PATCH, "median_image_size_in_voxels": list(shape_zyx[1:]),
            "spacing": [1.0, 1.0], "normalization_schemes": ["ZScoreNormalization"],
            "use_mask_for_norm": [False],
            "resampling_fn_data": resample,
            "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
            "resampling_fn_seg": resample,
            "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
            "resampling_fn_probabilities": resample,
            "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0,
                                                   "force_separate_z": None},
            "architecture": arch, "batch_dice": False}},
        "experiment_planner_used": "ExperimentPlanner", "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": {"0": {
            "max": 1.0, "mean": 0.0, "median": 0.0, "min": 0.0, "percentile_00_5": 0.0,
            "percentile_99_5": 1.0, "std": 1.0}}}


def _slice_batch(x, y, rng, n):
    """``n`` random axial slices (axis 0 of nnU-Net's (z, y, x) arrays), zero-padded to PATCH."""
    zs = rng.integers(0, x.shape[1], n)
    pad = [(0, 0)] + [(0, max(0, p - s)) for p, s in zip(PATCH, x.shape[2:])]
    xb = np.stack([np.pad(x[:, z], pad)[:, :PATCH[0], :PATCH[1]] for z in zs]).astype(np.float32)
    yb = np.stack([np.pad(y[0, z], pad[1:])[:PATCH[0], :PATCH[1]] for z in zs]).astype(np.int64)
    return xb, yb


def build_model_folder(root: Path, image_path, seg_path, iterations=100, seed=0) -> Path:
    """Fit the tiny model; return the nnU-Net results folder (``root/<trainer>__<plans>__2d``)."""
    import torch

    from spinalcordtoolbox.deepseg.inference import _ensure_nnunet_env
    from spinalcordtoolbox.image import Image

    _ensure_nnunet_env()
    from nnunetv2.preprocessing.preprocessors.default_preprocessor import DefaultPreprocessor
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network: more threads only contend on a loaded machine
    rng = np.random.default_rng(seed)
    im = Image(image_path).change_orientation("LPI")
    seg = Image(seg_path).change_orientation("LPI")
    data = np.transpose(im.data.astype(np.float32), (2, 1, 0))[None]
    lab = np.transpose((seg.data > 0).astype(np.int16), (2, 1, 0))[None]
    plans = _plans(data.shape[1:])
    dataset = {"channel_names": {"0": "T2w"}, "labels": {"background": 0, "sc": 1},
               "numTraining": 1, "file_ending": ".nii.gz", "name": "TinyCord"}
    pm = PlansManager(plans)
    cm = pm.get_configuration("2d")
    x, y, _ = DefaultPreprocessor(verbose=False).run_case_npy(
        data, lab, {"spacing": [float(s) for s in im.pixdim[::-1]]}, pm, cm, dataset)
    y = np.maximum(y, 0)  # -1 marks voxels outside the non-zero crop: background here
    net = nnUNetTrainer.build_network_architecture(pm, cm, 1, 2, enable_deep_supervision=False)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    for _ in range(iterations):
        xb, yb = map(torch.from_numpy, _slice_batch(x, y, rng, 8))
        if rng.random() < 0.5:  # left-right flips: the cord is symmetric, the model must not care
            xb, yb = xb.flip(-1), yb.flip(-1)
        logits = net(xb)
        prob = torch.softmax(logits, 1)[:, 1]
        fg = (yb == 1).float()
        dice = 1 - (2 * (prob * fg).sum() + 1) / (prob.sum() + fg.sum() + 1)
        loss = torch.nn.functional.cross_entropy(logits, yb) + dice
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(threads)
    folder = root / "nnUNetTrainer__nnUNetPlans__2d"
    (folder / "fold_0").mkdir(parents=True, exist_ok=True)
    (folder / "plans.json").write_text(json.dumps(plans, indent=1))
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=1))
    torch.save({"network_weights": net.state_dict(), "trainer_name": "nnUNetTrainer",
                "init_args": {"plans": plans, "configuration": "2d", "fold": 0,
                              "dataset_json": dataset},
                "inference_allowed_mirroring_axes": None, "current_epoch": iterations},
               folder / "fold_0" / "checkpoint_final.pth")
    return folder


def tiny_model_zip(sct_testing_data: Path) -> Path:
    """The fitted model as a release-like zip (``<name>/nnUNetTrainer__.../...``), built once per run."""
    if "zip" not in _CACHE:
        root = Path(tempfile.mkdtemp(prefix="sct_tiny_nnunet_"))
        model_root = root / "tiny_cord_model"
        build_model_folder(model_root, sct_testing_data / "t2" / "t2.nii.gz",
                           sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
        archive = root / "tiny_cord_model.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(model_root.rglob("*")):
                zf.write(p, p.relative_to(root))
        _CACHE["zip"] = archive
        _CACHE["root"] = root
    return _CACHE["zip"]


def cleanup():
    root = _CACHE.pop("root", None)
    _CACHE.pop("zip", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
