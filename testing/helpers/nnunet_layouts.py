"""Tiny nnU-Net v2 models laid out like the published zoo's releases, one per layout.

Each is a small 2-D PlainConvUNet fitted for a few dozen iterations to a crop of the t2 test
subject, saved in nnU-Net's results format with the ``dataset.json``/``plans.json`` keys of
the release it stands for:

- ``softmax``: one ``sc`` label (contrast-agnostic, EPI, ...);
- ``region``: ``"sc": [1, 2], "lesion": 2`` with ``regions_class_order`` (SCIsegV2, axial MS):
  sigmoid outputs, a ``RegionBasedLesionSeg`` dataset without orientation key (-> AIL);
- ``custom``: a trainer class shipped as ``trainer_class.py`` (lesion_ms r20250909);
- ``multifold``: three folds in one folder (ensembles);
- ``orientation``: an ``image_orientation`` key (``RPI``) in dataset.json;
- ``mouse``: ``GM`` = 1, ``WM`` = 2 (gm_wm_mouse_t1).

Training follows the model's declared orientation (array (z, y, x) of the image in that
orientation, as nnU-Net's SimpleITK reader gives it), so the models are meaningful only when
the inference geometry is right; the tests compare our masks with nnU-Net's own predictions.
"""
from __future__ import annotations

import json
import textwrap
import zipfile
from pathlib import Path

import numpy as np

PATCH = [32, 32]
TRAINER_NAME = "nnUNetTrainerSCTTinyCustom"

CUSTOM_TRAINER_PY = textwrap.dedent('''
    """A custom trainer shipped with a model: the network's logits go through a learned scale."""
    import torch
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


    class ScaledNet(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.scale = torch.nn.Parameter(torch.full((1,), 2.0))

        def forward(self, x):
            return self.net(x) * self.scale


    class nnUNetTrainerSCTTinyCustom(nnUNetTrainer):
        @staticmethod
        def build_network_architecture(plans_manager, configuration_manager, num_input_channels,
                                       num_output_channels, enable_deep_supervision=True):
            net = nnUNetTrainer.build_network_architecture(plans_manager, configuration_manager,
                                                           num_input_channels, num_output_channels,
                                                           enable_deep_supervision)
            return ScaledNet(net)


    def get_trainer_class():
        return nnUNetTrainerSCTTinyCustom
''')


def _plans(name, shape_zyx, spacing_zyx):
    """tiny_nnunet's plans, made smaller (3 stages, instance norm, 32x32 patches) and given the
    dataset's name, spacing and nnU-Net's default SimpleITK reader."""
    from helpers.tiny_nnunet import _plans as base

    plans = base(shape_zyx)
    plans.update(dataset_name=name, image_reader_writer="SimpleITKIO",
                 original_median_spacing_after_transp=list(spacing_zyx))
    config = plans["configurations"]["2d"]
    config.update(patch_size=PATCH, spacing=list(spacing_zyx[1:]))
    config["architecture"]["arch_kwargs"].update(
        n_stages=3, features_per_stage=[4, 8, 16], kernel_sizes=[[3, 3]] * 3,
        strides=[[1, 1], [2, 2], [2, 2]], n_conv_per_stage=[2, 2, 2], n_conv_per_stage_decoder=[2, 2],
        norm_op="torch.nn.modules.instancenorm.InstanceNorm2d")
    return plans


LAYOUTS = {
    "softmax": {"labels": {"background": 0, "sc": 1}, "name": "Dataset901_TinySC"},
    "region": {"labels": {"background": 0, "sc": [1, 2], "lesion": 2}, "regions_class_order": [1, 2],
               "name": "Dataset902_TinyRegionBasedLesionSeg"},
    "custom": {"labels": {"background": 0, "lesion": 1}, "name": "Dataset903_TinyLesion",
               "trainer": TRAINER_NAME},
    "multifold": {"labels": {"background": 0, "lesion": 1}, "name": "Dataset904_TinyFolds", "folds": 3},
    "orientation": {"labels": {"background": 0, "sc": 1}, "name": "Dataset905_TinyRPI",
                    "image_orientation": "RPI"},
    "mouse": {"labels": {"background": 0, "GM": 1, "WM": 2}, "name": "Dataset906_TinyMouse"},
}


def _targets(kind, cord):
    """Label map (integer values of dataset.json) for each layout, from the cord mask."""
    from scipy import ndimage
    cord = cord.astype(bool)
    if kind in ("softmax", "orientation"):
        return cord.astype(np.int16)
    if kind in ("custom", "multifold"):  # a "lesion": the cord's central slab
        lesion = cord & ndimage.binary_erosion(cord, iterations=1)
        return lesion.astype(np.int16)
    if kind == "region":
        out = cord.astype(np.int16)
        out[cord & ndimage.binary_erosion(cord, iterations=1)] = 2
        return out
    if kind == "mouse":
        out = cord.astype(np.int16) * 2
        out[cord & ndimage.binary_erosion(cord, iterations=1)] = 1
        return out
    raise ValueError(kind)


def _batch(x, y, rng, n):
    """``n`` random slices (axis 0 of the (z, y, x) arrays), random PATCH crop, zero-padded."""
    xb, yb = [], []
    for _ in range(n):
        z = rng.integers(0, x.shape[1])
        xs, ys = x[:, z], y[:, z]
        pad = [(0, max(0, p - s)) for p, s in zip(PATCH, xs.shape[1:])]
        xs, ys = np.pad(xs, [(0, 0)] + pad), np.pad(ys, [(0, 0)] + pad)
        o = [rng.integers(0, s - p + 1) for s, p in zip(xs.shape[1:], PATCH)]
        sl = (slice(None), slice(o[0], o[0] + PATCH[0]), slice(o[1], o[1] + PATCH[1]))
        xb.append(xs[sl])
        yb.append(ys[sl])
    return np.stack(xb).astype(np.float32), np.stack(yb).astype(np.int64)


def _fit(net, x, y, regions, iterations, seed):
    import torch
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.train()
    for _ in range(iterations):
        xb, yb = map(torch.from_numpy, _batch(x, y, rng, 8))
        logits = net(xb)
        yb = yb[:, 0]
        if regions:
            target = torch.stack([torch.isin(yb, torch.tensor(r)) for r in regions], 1).float()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
        else:
            loss = torch.nn.functional.cross_entropy(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    return net


def build(kind: str, root: Path, image, cord, iterations=40) -> Path:
    """Fit and save the ``kind`` layout under ``root``; returns the nnU-Net results folder."""
    import torch

    from spinalcordtoolbox.deepseg.inference import _ensure_nnunet_env, model_orientation

    _ensure_nnunet_env()
    from nnunetv2.preprocessing.preprocessors.default_preprocessor import DefaultPreprocessor
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    spec = LAYOUTS[kind]
    dataset = {"channel_names": {"0": "T2w"}, "labels": spec["labels"], "numTraining": 1,
               "file_ending": ".nii.gz", "name": spec["name"]}
    if "regions_class_order" in spec:
        dataset["regions_class_order"] = spec["regions_class_order"]
    if "image_orientation" in spec:
        dataset["image_orientation"] = spec["image_orientation"]
    orientation = model_orientation(dataset, spec["name"])
    im = image.copy().change_orientation(orientation)
    seg = cord.copy().change_orientation(orientation)
    data = np.transpose(im.data.astype(np.float32), (2, 1, 0))[None]
    lab = np.transpose(_targets(kind, seg.data > 0), (2, 1, 0))[None]
    spacing = [float(s) for s in im.pixdim[::-1]]
    plans = _plans(spec["name"], data.shape[1:], spacing)
    pm = PlansManager(plans)
    cm = pm.get_configuration("2d")
    lm = pm.get_label_manager(dataset)
    x, y, _ = DefaultPreprocessor(verbose=False).run_case_npy(data, lab, {"spacing": spacing}, pm, cm, dataset)
    y = np.maximum(y, 0)
    regions = [list(r) if isinstance(r, (list, tuple)) else [r] for r in lm.foreground_regions] \
        if lm.has_regions else None
    trainer = spec.get("trainer", "nnUNetTrainer")
    folder = root / f"{trainer}__nnUNetPlans__2d"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plans.json").write_text(json.dumps(plans, indent=1))
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=1))
    if trainer != "nnUNetTrainer":
        (folder / "trainer_class.py").write_text(CUSTOM_TRAINER_PY)
    for fold in range(spec.get("folds", 1)):
        torch.manual_seed(fold)
        net = nnUNetTrainer.build_network_architecture(pm, cm, 1, lm.num_segmentation_heads,
                                                       enable_deep_supervision=False)
        if trainer != "nnUNetTrainer":
            from spinalcordtoolbox.deepseg.inference import load_trainer_class
            net = load_trainer_class(folder, trainer).build_network_architecture(
                pm, cm, 1, lm.num_segmentation_heads, enable_deep_supervision=False)
        # folds see different amounts of training, so that they disagree near the edges
        _fit(net, x, y, regions, iterations + 15 * fold, seed=fold)
        (folder / f"fold_{fold}").mkdir(exist_ok=True)
        torch.save({"network_weights": net.state_dict(), "trainer_name": trainer,
                    "init_args": {"plans": plans, "configuration": "2d", "fold": fold, "dataset_json": dataset},
                    "inference_allowed_mirroring_axes": (0, 1), "current_epoch": iterations},
                   folder / f"fold_{fold}" / "checkpoint_final.pth")
    return folder


def zip_folder(model_root: Path, archive: Path) -> Path:
    """A release-like zip of ``model_root`` (its folder name on top)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(model_root.rglob("*")):
            zf.write(p, p.relative_to(model_root.parent))
    return archive


def nnunet_reference(folder: Path, image, folds, tmp: Path, use_mirroring=False, probabilities=False):
    """nnU-Net's own prediction, as the established toolbox runs it: the image reoriented to the
    model's orientation and written to disk, predicted from the file by nnU-Net (its SimpleITK
    reader), read back and reoriented to the image's orientation. Custom trainers are found
    through nnU-Net's ``nnUNet_extTrainer`` mechanism. Returns the label map array, or with
    ``probabilities`` the class probabilities nnU-Net saves (class first, then the image's axes)."""
    import shutil

    import torch

    from spinalcordtoolbox.deepseg.inference import _ensure_nnunet_env, model_orientation, read_model_json
    from spinalcordtoolbox.image import Image

    _ensure_nnunet_env()
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    tmp.mkdir(parents=True, exist_ok=True)
    dataset, plans = read_model_json(folder)
    orientation = model_orientation(dataset, plans["dataset_name"])
    work = image.copy().change_orientation(orientation)
    src = tmp / "case_0000.nii.gz"
    work.save(src)
    import nnunetv2.inference.predict_from_raw_data as prd
    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class

    find_trainer = prd.recursive_find_trainer_class_by_name
    if (folder / "trainer_class.py").is_file():
        ext = tmp / "ext_trainer"
        ext.mkdir(exist_ok=True)
        shutil.copy(folder / "trainer_class.py", ext / "trainer_class.py")
        # nnU-Net's external-trainer search (nnUNet_extTrainer), without its first step, the scan
        # of its own trainer package, which imports timm/torchvision (broken in this environment)
        prd.recursive_find_trainer_class_by_name = lambda name: recursive_find_python_class(
            str(ext), name, None, base_folder=str(ext))
    try:
        predictor = nnUNetPredictor(tile_step_size=0.5, use_gaussian=True, use_mirroring=use_mirroring,
                                    perform_everything_on_device=False, device=torch.device("cpu"),
                                    verbose=False, verbose_preprocessing=False, allow_tqdm=False)
        predictor.initialize_from_trained_model_folder(str(folder), use_folds=list(folds),
                                                       checkpoint_name="checkpoint_final.pth")
        predictor.predict_from_files_sequential([[str(src)]], [str(tmp / "pred")], probabilities, True, None)
    finally:
        prd.recursive_find_trainer_class_by_name = find_trainer
    if probabilities:  # saved in (class, z, y, x) array order: back to the image's axes
        probs = np.load(tmp / "pred.npz")["probabilities"].transpose(0, 3, 2, 1)
        return np.stack([_reoriented(work, p, image.orientation) for p in probs])
    pred = Image(tmp / "pred.nii.gz")
    out = work.copy()
    out.data = np.asarray(pred.data)
    return out.change_orientation(image.orientation).data


def _reoriented(grid, data, orientation):
    out = grid.copy()
    out.data = np.asarray(data)
    return out.change_orientation(orientation).data
