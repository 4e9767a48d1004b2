"""Tiny stand-ins for the two TotalSpineSeg release models, fitted to a synthetic spine phantom.

The release ships two nnU-Net results folders, ``Dataset101_TotalSpineSeg_step1`` and
``Dataset102_TotalSpineSeg_step2``, each zipped with its dataset folder at the top. The stand-ins
have that layout and the release's label numbering (step 1: 1 disc, 2 C2-C3 disc, 8 canal, 9 cord;
step 2: 2 channels, 1 disc, 2 C2-C3 disc, 7/8 alternate vertebrae, 10 canal, 11 cord). Each is a
small 2-D PlainConvUNet fitted in a few seconds to a phantom whose structures have distinct
intensities (no intensity normalisation, so the crops of step 2 see the same values): a canal
tube with the cord inside, five discs in front of it (the top one is C2-C3) and vertebral bodies
between them. The truth is then known: TotalSpineSeg must label the discs 3 (C2-C3) to 7 (C6-C7)
from top to bottom, one point each at the posterior edge of its disc.
"""
from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np

SHAPE = (24, 40, 80)  # x (R->L... any), y (posterior->anterior axis of the phantom), z (inf->sup)
DISC_Z = [70, 56, 42, 28, 14]  # centres, superior first (RAS affine: +z is superior)
DISC_HALF = 1  # discs are 3 slices thick
DISC_Y = (8, 18)  # anterior to the canal
CANAL_X, CANAL_Y = (8, 16), (20, 29)
CORD_X, CORD_Y = (10, 14), (22, 27)
INTENSITY = {"background": 1.0, "vertebra": 2.0, "vertebra_even": 2.5, "disc": 3.0, "c2c3": 4.0, "canal": 5.0, "cord": 8.0}
STEP1_LABELS = {"background": 0, "disc": 1, "disc_C2_C3": 2, "disc_C7_T1": 3, "disc_T12_L1": 4,
                "disc_L5_S": 5, "sacrum": 6, "vertebrae_C1": 7, "canal": 8, "cord": 9}
STEP2_LABELS = {"background": 0, "disc": 1, "disc_C2_C3": 2, "disc_C7_T1": 3, "disc_T12_L1": 4,
                "disc_L5_S": 5, "vertebrae_C1": 6, "vertebrae_odd": 7, "vertebrae_even": 8,
                "sacrum": 9, "canal": 10, "cord": 11}
PATCH = [48, 80]  # one sagittal slice (y, z): plans transpose the (z, y, x) array to (x, y, z)
BATCH = 4
_CACHE: dict = {}


def phantom():
    """(image, step 1 truth, step 2 truth) arrays of the phantom, and its affine (1 mm, RAS)."""
    img = np.full(SHAPE, INTENSITY["background"], np.float32)
    s1 = np.zeros(SHAPE, np.uint8)
    s2 = np.zeros(SHAPE, np.uint8)
    xs, ys = slice(6, 18), slice(*DISC_Y)
    # vertebral bodies fill the column between the discs (and below the last one)
    for k, (top, bottom) in enumerate(zip([DISC_Z[0] + DISC_HALF + 8] + DISC_Z, DISC_Z + [4])):
        z = slice(bottom + DISC_HALF + 1, top - DISC_HALF)
        img[xs, ys, z] = INTENSITY["vertebra_even" if k % 2 else "vertebra"]  # one intensity per class
        s2[xs, ys, z] = 7 + k % 2
    for k, zc in enumerate(DISC_Z):
        z = slice(zc - DISC_HALF, zc + DISC_HALF + 1)
        img[xs, ys, z] = INTENSITY["c2c3" if k == 0 else "disc"]
        s1[xs, ys, z] = s2[xs, ys, z] = 2 if k == 0 else 1
    z = slice(2, SHAPE[2] - 2)
    img[slice(*CANAL_X), slice(*CANAL_Y), z] = INTENSITY["canal"]
    s1[slice(*CANAL_X), slice(*CANAL_Y), z], s2[slice(*CANAL_X), slice(*CANAL_Y), z] = 8, 10
    img[slice(*CORD_X), slice(*CORD_Y), z] = INTENSITY["cord"]
    s1[slice(*CORD_X), slice(*CORD_Y), z], s2[slice(*CORD_X), slice(*CORD_Y), z] = 9, 11
    return img, s1, s2, np.eye(4)


def _plans(name, n_channels, shape_zyx):
    from helpers.tiny_nnunet import _plans as base
    plans = base(shape_zyx)
    plans["dataset_name"] = name
    cfg = plans["configurations"]["2d"]
    cfg["patch_size"] = PATCH
    arch = cfg["architecture"]["arch_kwargs"]  # smaller than the cord stand-in: fits in seconds
    arch.update(n_stages=3, features_per_stage=[8, 16, 32], kernel_sizes=[[3, 3]] * 3,
                strides=[[1, 1], [2, 2], [2, 2]], n_conv_per_stage=[2, 2, 2],
                n_conv_per_stage_decoder=[1, 1])
    # sagittal slices: every slice through the spine holds all its structures
    plans["transpose_forward"] = plans["transpose_backward"] = [2, 1, 0]
    cfg["normalization_schemes"] = ["NoNormalization"] * n_channels
    cfg["use_mask_for_norm"] = [False] * n_channels
    props = plans["foreground_intensity_properties_per_channel"]["0"]
    plans["foreground_intensity_properties_per_channel"] = {str(c): props for c in range(n_channels)}
    return plans


def _fit(x, y, n_classes, plans, rng, iterations):
    """Fit the network on sagittal slices of the (c, x, y, z) arrays (random flips and shifts,
    zero padding as at inference; classes weighted, the discs being small)."""
    import torch

    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    pm = PlansManager(plans)
    cm = pm.get_configuration("2d")
    net = nnUNetTrainer.build_network_architecture(pm, cm, x.shape[0], n_classes,
                                                   enable_deep_supervision=False)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    freq = np.bincount(y.ravel(), minlength=n_classes) + 1.0
    weight = torch.from_numpy((freq.sum() / freq) ** 0.25).float()
    net.train()
    n_z, h, w = x.shape[1:]
    for _ in range(iterations):
        xb = np.zeros((BATCH, x.shape[0], *PATCH), np.float32)
        yb = np.zeros((BATCH, *PATCH), np.int64)
        for b in range(BATCH):
            z = rng.integers(3, n_z - 3)  # through the spine (the outer slices are background)
            xs, ys = x[:, z], y[z]
            if rng.random() < 0.5:
                xs, ys = xs[:, ::-1], ys[::-1]
            if rng.random() < 0.5:
                xs, ys = xs[:, :, ::-1], ys[:, ::-1]
            oy, ox = rng.integers(0, PATCH[0] - h + 1), rng.integers(0, PATCH[1] - w + 1)
            xb[b, :, oy:oy + h, ox:ox + w] = xs
            yb[b, oy:oy + h, ox:ox + w] = ys
        if x.shape[0] > 1:  # the step 2 guide channel: random, so that the network ignores it
            xb[:, 1] = rng.random((BATCH, *PATCH)) < 0.01
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(xb)), torch.from_numpy(yb),
                                               weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def _save(folder: Path, net, plans, dataset, iterations):
    import torch

    (folder / "fold_0").mkdir(parents=True, exist_ok=True)
    (folder / "plans.json").write_text(json.dumps(plans, indent=1))
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=1))
    torch.save({"network_weights": net.state_dict(), "trainer_name": "nnUNetTrainer",
                "init_args": {"plans": plans, "configuration": "2d", "fold": 0, "dataset_json": dataset},
                "inference_allowed_mirroring_axes": None, "current_epoch": iterations},
               folder / "fold_0" / "checkpoint_final.pth")


def build_release(root: Path, iterations=(300, 400), seed=0) -> dict:
    """Fit both stand-ins; write ``root/<mirror name>.zip`` for each part, as the release zips
    (``Dataset10x_.../nnUNetTrainer__nnUNetPlans__2d/...``). ``iterations``: per step (step 2,
    with two channels and twelve classes, needs more). Returns {part: zip path}."""
    import torch

    from spinalcordtoolbox.deepseg.inference import _ensure_nnunet_env

    _ensure_nnunet_env()
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    img, s1, s2, _ = phantom()
    x = img[None]  # (c, x, y, z): nnU-Net's (c, z, y, x) after the plans' transpose
    zips = {}
    try:
        for part, dataset_name, labels, truth, channels, n_iter in (
                ("step1", "Dataset101_TotalSpineSeg_step1", STEP1_LABELS, s1, {"0": "MRI"}, iterations[0]),
                ("step2", "Dataset102_TotalSpineSeg_step2", STEP2_LABELS, s2, {"0": "MRI", "1": "odd_discs"},
                 iterations[1])):
            xin = np.concatenate([x, np.zeros_like(x)]) if len(channels) == 2 else x
            plans = _plans(dataset_name, len(channels), img.shape[::-1])
            net = _fit(xin, truth, len(labels), plans, rng, n_iter)
            dataset = {"channel_names": channels, "labels": labels, "numTraining": 1,
                       "file_ending": ".nii.gz", "name": dataset_name}
            model_root = root / part
            _save(model_root / dataset_name / "nnUNetTrainer__nnUNetPlans__2d", net, plans, dataset, n_iter)
            archive = root / f"totalspineseg_{part}.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in sorted(model_root.rglob("*")):
                    zf.write(p, p.relative_to(model_root))
            zips[part] = archive
    finally:
        torch.set_num_threads(threads)
    return zips


def tiny_release(iterations=(300, 400)) -> Path:
    """A mirror folder holding ``totalspineseg_step1.zip`` and ``totalspineseg_step2.zip`` (the
    names ``$SCT_DATA_MIRROR`` serves the two parts under), built once per run."""
    if "root" not in _CACHE:
        root = Path(tempfile.mkdtemp(prefix="sct_tiny_tss_"))
        build_release(root, iterations)
        _CACHE["root"] = root
    return _CACHE["root"]
