"""Run a model of the old ivadomed framework (ONNX or PyTorch network + JSON training config).

The published releases of these tasks hold ``<name>.onnx`` (the trained network, final activation
included; run with onnxruntime) or only ``<name>.pt`` (run with torch: TorchScript, or the whole
pickled module ivadomed saves), and ``<name>.json`` (ivadomed's training configuration). The
ivadomed package is unmaintained, so its test-time pipeline is re-implemented here from the
configuration:

- the image is brought to the canonical orientation (nibabel RAS, "LPI" in the toolbox's naming),
  then to (height, width, depth) by ``loader_parameters.slice_axis`` (axial: x, y, z;
  sagittal: z, y, x; coronal: z, x, y);
- 2-D models run slice by slice along depth (slices that are all zero are not run and predict 0,
  ivadomed's ``filter_empty_input``); 3-D models (``Modified3DUNet.applied`` or a non-2-D
  ``default_model``) run on sub-volumes of ``length_3D`` every ``stride_3D``, averaged where they
  overlap, after the transforms ran on the whole volume;
- test-time transforms, in the configuration's order: ``Resample`` (scipy zoom to
  ``hspace``/``wspace``/``dspace`` mm, spline order 2), ``CenterCrop`` (``ROICrop`` without a prior
  becomes one; zero-padded where the image is smaller), ``NormalizeInstance`` ((x - mean) / std);
  random augmentations are training-only and skipped;
- the prediction is put back by undoing them in reverse order (un-crop with zeros, zoom back to
  the original shape with spline order 1), back to the input's orientation, values <= 0.01 set to 0;
- then the configuration's ``postprocessing`` block, in its order (see :func:`postprocess`), with
  the user's options applied as the established toolbox passes them to ivadomed's
  ``segment_volume`` (see :func:`postprocessing_steps`).

One output per channel of the network (``loader_parameters.target_suffix``).

Several input images (multi-channel models, ``loader_parameters.multichannel``) are stacked as the
network's channels, each transformed alike (normalised on its own). Cascades (the tumor tasks:
a cord-localisation model, then the tumor model) follow ivadomed's object-detection prior: when
the second model's config names an ``object_detection_params.object_detection_path``, the first
model's output is the *prior*; its first connected object (in ivadomed's scan order, canonical
orientation, (h, w, d) axes; every voxel the prior keeps, soft or not) gives a bounding box,
widened by ``safety_factor`` around its centre, scaled by the resampling, grown to at least one
sub-volume (``length_3D``) and to a whole number of strides; the image is cropped there (from the
box's corner, zero-padded past the image) right after ``Resample``, and the prediction put back.
Old configs (``UNet3D``) are read as ivadomed reads them (``Modified3DUNet``).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, empty_like

logger = logging.getLogger(__name__)

#: toolbox orientation of nibabel's canonical RAS array, ivadomed's working space
CANONICAL = "LPI"
SLICE_AXES = {"sagittal": 0, "coronal": 1, "axial": 2}
#: training-time augmentations (skipped at inference)
AUGMENTATIONS = ("Random", "Elastic", "Clahe", "AdditiveGaussianNoise", "DilateGT", "HistogramClipping",
                 "Bias")
GEOMETRY = ("Resample", "CenterCrop", "ROICrop")
NOISE_THR = 1e-2


def find_ivadomed_model(model_dir) -> tuple[Path, Path]:
    """(network, config .json) of an ivadomed release folder: a JSON with a sibling network of the
    same name, ``<name>.onnx`` or (releases that ship only the PyTorch file) ``<name>.pt``."""
    model_dir = Path(model_dir)
    for cfg in sorted(model_dir.rglob("*.json")):
        for ext in (".onnx", ".pt"):
            if cfg.with_suffix(ext).is_file():
                return cfg.with_suffix(ext), cfg
    raise ImageError(f"No ivadomed model (<name>.onnx or <name>.pt with <name>.json) found in {model_dir}")


def read_config(path) -> dict:
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    if "UNet3D" in config and "Modified3DUNet" not in config:  # ivadomed's renamed key
        config["Modified3DUNet"] = config.pop("UNet3D")
    return config


def _to_hwd(data, axis):
    return {0: lambda a: a.transpose(2, 1, 0), 1: lambda a: a.transpose(2, 0, 1), 2: lambda a: a}[axis](data)


def _from_hwd(data, axis):
    return {0: lambda a: a.transpose(2, 1, 0), 1: lambda a: a.transpose(1, 2, 0), 2: lambda a: a}[axis](data)


def _hwd_zooms(zooms, axis):
    z = list(zooms)
    return {0: [z[2], z[1], z[0]], 1: [z[2], z[0], z[1]], 2: z}[axis]


def test_transforms(config: dict) -> list[tuple[str, dict]]:
    """The configuration's transforms run at inference, in order (name, parameters)."""
    out = []
    for name, params in config.get("transformation", {}).items():
        params = params or {}
        types = params.get("dataset_type")
        if name.startswith(AUGMENTATIONS) or (types is not None and "testing" not in types):
            continue
        if name in ("NumpyToTensor",):
            continue
        if "im" not in params.get("applied_to", ["im", "gt", "roi"]):
            continue
        if name == "ROICrop":  # no prior given: ivadomed crops around the centre instead
            name = "CenterCrop"
        if name not in GEOMETRY + ("NormalizeInstance",):
            raise ImageError(f"ivadomed transform '{name}' is not supported by this toolbox")
        out.append((name, params))
    return out


def _zoom(data, factors, order):
    from scipy.ndimage import zoom
    return zoom(data, zoom=factors, order=order).astype(data.dtype)


def _crop(data, size):
    """Centred crop (zero-padded where ``data`` is smaller); returns (crop, start offsets)."""
    starts = [int(round((n - t) / 2.)) for n, t in zip(data.shape, size)]
    return _crop_at(data, starts, size), starts


def _crop_at(data, starts, size):
    """Crop of ``size`` from ``starts`` (zero-padded where it leaves ``data``)."""
    out = np.zeros(tuple(size), dtype=data.dtype)
    src, dst = [], []
    for n, t, s in zip(data.shape, size, starts):
        a, b = max(s, 0), min(s + t, n)
        src.append(slice(a, max(a, b)))
        dst.append(slice(a - s, a - s + max(0, b - a)))
    out[tuple(dst)] = data[tuple(src)]
    return out


def _uncrop(data, shape, starts):
    out = np.zeros(tuple(shape), dtype=data.dtype)
    src, dst = [], []
    for n, t, s in zip(shape, data.shape, starts):
        a, b = max(s, 0), min(s + t, n)
        dst.append(slice(a, max(a, b)))
        src.append(slice(a - s, a - s + max(0, b - a)))
    out[tuple(dst)] = data[tuple(src)]
    return out


def _apply(transforms, data, zooms, is_2d):
    """Forward transforms on one (h, w, d) array (d = 1 for a slice); returns (data, undo record)."""
    record = []
    for name, p in transforms:
        if name == "Resample":
            factors = [zooms[0] / p["hspace"], zooms[1] / p["wspace"],
                       1.0 if is_2d else zooms[2] / p.get("dspace", 1.0)]
            record.append(("Resample", data.shape))
            data = _zoom(data, factors, order=2)
        elif name == "CenterCrop":
            size = list(p["size"]) + ([data.shape[2]] if len(p["size"]) == 2 else [])
            if is_2d:
                size[2] = data.shape[2]
            record.append(("CenterCrop", data.shape, None))
            data, starts = _crop(data, size)
            record[-1] = ("CenterCrop", record[-1][1], starts)
        elif name == "BoundingBoxCrop":
            record.append(("CenterCrop", data.shape, list(p["start"])))
            data = _crop_at(data, p["start"], p["size"])
        elif name == "NormalizeInstance":
            data = (data - data.mean()) / data.std()
    return data, record


def _undo(record, data):
    """Undo the geometric transforms on one channel (h, w, d)."""
    for entry in reversed(record):
        if entry[0] == "CenterCrop":
            data = _uncrop(data, entry[1], entry[2])
        else:
            data = _zoom(data, [o / c for o, c in zip(entry[1], data.shape)], order=1)
    return data


class _Network:
    def __init__(self, path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        first = self.session.get_inputs()[0]
        self.name = first.name
        # a network exported with a fixed batch size takes its inputs that many at a time
        self.fixed_batch = first.shape[0] if isinstance(first.shape[0], int) else None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = batch.astype(np.float32)
        if self.fixed_batch in (None, len(batch)):
            return self.session.run(None, {self.name: batch})[0]
        return np.concatenate([self.session.run(None, {self.name: batch[i:i + 1]})[0]
                               for i in range(len(batch))])


class _TorchNetwork:
    """A ``.pt`` network: TorchScript, or a whole pickled ``torch.nn.Module`` (ivadomed's
    ``torch.save(model)``; its classes must be importable)."""

    def __init__(self, path):
        import torch

        try:
            self.model = torch.jit.load(str(path), map_location="cpu")
        except RuntimeError:  # not a TorchScript archive: a pickled module
            try:
                self.model = torch.load(str(path), map_location="cpu", weights_only=False)
            except (ModuleNotFoundError, AttributeError) as e:
                raise ImageError(f"{path.name} is a pickled PyTorch model whose classes are not "
                                 f"available ({e}); use the release's .onnx file or a TorchScript "
                                 f"export of the network") from None
        if not isinstance(self.model, torch.nn.Module):
            raise ImageError(f"{path.name} holds no network (a state dict?): the architecture is "
                             f"needed; use the release's .onnx file")
        self.model.eval()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.model(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))).numpy()


def load_network(path):
    """The network of a release (.onnx with onnxruntime, .pt with torch), called on numpy batches."""
    return _TorchNetwork(path) if Path(path).suffix == ".pt" else _Network(path)


def is_3d(config: dict) -> bool:
    m3d = config.get("Modified3DUNet") or {}
    return bool(m3d.get("applied")) or not config.get("default_model", {}).get("is_2d", True)


def _apply_channels(transforms, channels, zooms, is_2d):
    """The transforms on each input channel alike: (C, h, w, d) array, undo record."""
    out = [_apply(transforms, c, zooms, is_2d) for c in channels]
    return np.stack([o[0] for o in out]), out[0][1]


def _predict_2d(net, channels, zooms, transforms, batch_size, n_channels):
    shape = channels[0].shape
    preds, todo = [None] * shape[2], []
    for k in range(shape[2]):
        sl = [c[:, :, k:k + 1] for c in channels]
        if any(not np.any(c) or np.std(c) == 0 for c in sl):  # empty input slices are not segmented
            continue
        data, record = _apply_channels(transforms, sl, zooms, is_2d=True)
        todo.append((k, data[:, :, :, 0], record))
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        out = net(np.stack([c[1] for c in chunk]))
        for (k, _, record), pred in zip(chunk, out):
            preds[k] = np.stack([_undo(record, ch[:, :, None].astype(np.float32))[:, :, 0] for ch in pred])
    n_ch = next((p.shape[0] for p in preds if p is not None), n_channels)
    full = np.zeros((n_ch,) + shape, dtype=np.float32)
    for k, p in enumerate(preds):
        if p is not None:
            full[:, :, :, k] = p
    return full


def _predict_3d(net, channels, zooms, transforms, length, stride):
    # every transform runs on the whole volume, then the network on each sub-volume (ivadomed's
    # 3-D loader), predictions averaged where sub-volumes overlap
    data, record = _apply_channels(transforms, channels, zooms, is_2d=False)
    shape = data.shape[1:]
    if any(n < L or (n - L) % s for n, L, s in zip(shape, length, stride)):
        raise ImageError(f"The 3-D model's sub-volumes ({length}, every {stride}) do not tile the "
                         f"preprocessed image {shape}")
    volume = weights = None
    ranges = [range(0, shape[i] - length[i] + 1, stride[i]) for i in range(3)]
    for x in ranges[0]:
        for y in ranges[1]:
            for z in ranges[2]:
                box = (slice(x, x + length[0]), slice(y, y + length[1]), slice(z, z + length[2]))
                out = net(data[(slice(None),) + box][None])[0]
                if volume is None:
                    volume = np.zeros((out.shape[0],) + shape, dtype=np.float32)
                    weights = np.zeros(shape, dtype=np.float32)
                volume[(slice(None),) + box] += out
                weights[box] += 1
    volume /= weights
    return np.stack([_undo(record, ch) for ch in volume])


def _adjust_box(box, factor, resample=False):
    """ivadomed's bounding-box scaling: ``box`` (min, max per axis) widened by ``factor`` around
    its centre, or (``resample``) mapped by ``factor`` onto the resampled grid."""
    out = []
    for i in range(len(box) // 2):
        lo, hi = box[2 * i], box[2 * i + 1]
        if resample:
            lo, hi = lo * factor[i], hi * factor[i]
            length = hi - lo
        else:
            length = (hi - lo) * factor[i]
        start = int(round(max(lo - (length - (hi - lo)) // 2, 0)))
        out += [start, int(start + length)]
    return out


def prior_box(prior: Image, axis: int, safety=(1.0, 1.0, 1.0)) -> list:
    """Bounding box (x_min, x_max, y_min, y_max, z_min, z_max on the canonical (h, w, d) grid) of
    the prior's first object, widened by ``safety`` (see the module docstring)."""
    from scipy import ndimage

    data = _to_hwd(np.asarray(prior.copy().change_orientation(CANONICAL).data), axis)
    labels, n = ndimage.label(data)
    if n == 0:
        raise ImageError("The cord-localisation model found no cord: nothing to crop the image around")
    coords = np.nonzero(labels == 1)
    box = [int(v) for c in coords for v in (c.min(), c.max())]
    return _adjust_box(box, list(safety or (1.0, 1.0, 1.0)))


def _box_transform(config: dict, transforms, box, zooms) -> list:
    """The transforms with ivadomed's bounding-box crop inserted after ``Resample``."""
    resample = next((p for n, p in transforms if n == "Resample"), None)
    if resample is not None:
        box = _adjust_box(box, [zooms[0] / resample["hspace"], zooms[1] / resample["wspace"],
                                zooms[2] / resample.get("dspace", 1.0)], resample=True)
    size = [box[1] - box[0], box[3] - box[2], box[5] - box[4]]
    m3d = config.get("Modified3DUNet") or {}
    length, stride = m3d.get("length_3D"), m3d.get("stride_3D")
    if length and stride:
        size = [max(n, L) for n, L in zip(size, length)]
        size = [n + ((s - (n - L) % s) % s) for n, L, s in zip(size, length, stride)]
    crop = ("BoundingBoxCrop", {"start": [box[0], box[2], box[4]], "size": size})
    at = next((i + 1 for i, (n, _) in enumerate(transforms) if n == "Resample"), 0)
    return transforms[:at] + [crop] + transforms[at:]


def uses_prior(config: dict) -> bool:
    """Whether the model is the second of a cascade (crops around a prior's bounding box)."""
    return (config.get("object_detection_params") or {}).get("object_detection_path") is not None


def _binarize(data, thr):
    return (data >= thr).astype(np.float32)


def _remove_small(mask, size_min):
    from scipy import ndimage

    labels, _ = ndimage.label(mask, structure=ndimage.generate_binary_structure(3, 2))
    small = np.bincount(labels.ravel()) < size_min
    small[0] = False
    out = mask.copy()
    out[small[labels]] = 0
    return out


def postprocess(data: np.ndarray, steps: dict, voxel_volume: float) -> np.ndarray:
    """ivadomed's post-processing (``steps``: its ``postprocessing`` block, run in its order) on
    the prediction (C, x, y, z):

    - ``binarize_prediction`` (thr >= 0): value >= thr -> 1, else 0;
    - ``keep_largest``: on a soft prediction, values < 0.001 are background; the largest connected
      object of the 4-D (x, y, z, class) array (scipy's default face connectivity, so touching
      classes form one object) is kept, the prediction masked by it;
    - ``fill_holes``: binarised at 0.5, then 3-D hole filling per class (3x3x3 element);
    - ``remove_small`` ({unit: vox|mm3, thr}): per class, 18-connected objects under thr voxels
      (mm3: round(thr / voxel volume)) removed; a list gives one size per class;
    - ``remove_noise`` (thr >= 0): values <= thr set to 0;
    - ``binarize_maxpooling``: 1 for the class of highest value, per voxel.
    """
    from scipy import ndimage

    data = data.astype(np.float32, copy=True)
    for name, p in steps.items():
        p = p or {}
        if name == "binarize_prediction":
            if p.get("thr", -1) >= 0:
                data = _binarize(data, p["thr"])
        elif name == "keep_largest":
            mask = np.moveaxis(data >= 0.001, 0, -1)
            labels, n = ndimage.label(mask)
            if n > 1:
                keep = np.bincount(labels.ravel())[1:].argmax() + 1
                mask = labels == keep
            data = data * np.moveaxis(mask, -1, 0)
        elif name == "fill_holes":
            data = np.stack([ndimage.binary_fill_holes(c, structure=np.ones((3, 3, 3)))
                             for c in _binarize(data, 0.5)]).astype(np.float32)
        elif name == "remove_small":
            thrs = p["thr"] if isinstance(p["thr"], (list, tuple)) else [p["thr"]]
            for c in range(len(data)):
                thr = thrs[c] if c < len(thrs) else thrs[-1]
                size_min = np.round(thr / voxel_volume) if p.get("unit", "vox") == "mm3" else thr
                data[c] = _remove_small(data[c], size_min)
        elif name == "remove_noise":
            if p.get("thr", -1) >= 0:
                data = data * (data > p["thr"])
        elif name == "binarize_maxpooling":
            out = np.zeros_like(data)
            np.put_along_axis(out, np.argmax(data, axis=0)[None], 1.0, axis=0)
            data = out
        elif name == "uncertainty":
            if p.get("thr", -1) >= 0:
                raise ImageError("The model's config asks for uncertainty-based post-processing, which "
                                 "needs Monte-Carlo uncertainty maps this toolbox does not compute")
        else:
            raise ImageError(f"ivadomed post-processing step '{name}' is not supported by this toolbox")
    return data


def postprocessing_steps(config: dict, thr=None, largest=False, fill_holes=False, remove_small=None) -> dict:
    """The configuration's post-processing with the user's options applied the way the established
    toolbox hands them to ivadomed: a threshold > 0 replaces (or adds) the binarisation (None or 0
    keep the config's), ``largest``/``fill_holes`` add their step when set and remove the config's
    when not, ``remove_small`` replaces it. A step that already exists keeps its place."""
    steps = dict(config.get("postprocessing") or {})
    if thr:
        steps["binarize_prediction"] = {"thr": float(thr)}
    for key, on in (("keep_largest", largest), ("fill_holes", fill_holes)):
        if on:
            steps[key] = {}
        else:
            steps.pop(key, None)
    if remove_small:
        from spinalcordtoolbox.deepseg.postprocessing import parse_sizes
        sizes, unit = parse_sizes(remove_small)
        steps["remove_small"] = {"unit": unit, "thr": sizes}
    return steps


def predict(im, model_dir, *, thr=None, largest=False, fill_holes=False, remove_small=None,
            prior: Image | None = None, batch_size=16) -> list[Image]:
    """Segment ``im`` (an Image, or a list of Images on one grid for multi-channel models, in the
    model's contrast order) with the ivadomed model in ``model_dir``: one Image per output channel,
    on the first image's grid and header. ``prior``: the cord-localisation output that cascaded
    models crop around (see the module docstring)."""
    from spinalcordtoolbox.image import check_same_grid

    net_path, cfg_path = find_ivadomed_model(model_dir)
    config = read_config(cfg_path)
    images = [i.copy().require_3d("input image") for i in (im if isinstance(im, (list, tuple)) else [im])]
    for other in images[1:]:
        check_same_grid(other, images[0], ("second input image", "first input image"))
    for i in images:
        if not np.isfinite(i.data).all():
            raise ImageError("The input image contains NaN or infinite values")
    im = images[0]
    axis = SLICE_AXES[config.get("loader_parameters", {}).get("slice_axis", "axial")]
    work = im.copy().change_orientation(CANONICAL)
    channels = [_to_hwd(np.asarray(i.copy().change_orientation(CANONICAL).data, dtype=np.float64), axis)
                for i in images]
    zooms = _hwd_zooms([float(z) for z in work.pixdim[:3]], axis)
    transforms = test_transforms(config)
    if uses_prior(config):
        if prior is None:
            raise ImageError(f"The model in {model_dir} crops around a cord-localisation prior: run it "
                             f"through its task (the localisation model first)")
        if not is_3d(config):
            raise ImageError("Bounding-box priors of 2-D ivadomed models are not supported")
        safety = config["object_detection_params"].get("safety_factor")
        transforms = _box_transform(config, transforms, prior_box(prior, axis, safety), zooms)
    net = load_network(net_path)
    logger.info("Running %s (%s, %s slices/sub-volumes)", net_path.name,
                "3-D" if is_3d(config) else "2-D", config.get("loader_parameters", {}).get("slice_axis", "axial"))
    if is_3d(config):
        m3d = config.get("Modified3DUNet") or {}
        pred = _predict_3d(net, channels, zooms, transforms, list(m3d["length_3D"]), list(m3d["stride_3D"]))
    else:
        n_channels = len(config.get("loader_parameters", {}).get("target_suffix") or [1])
        pred = _predict_2d(net, channels, zooms, transforms, batch_size, n_channels)
    pred = np.stack([_from_hwd(ch, axis) for ch in pred])
    outputs = []
    for ch in pred:
        back = empty_like(work, ch.astype(np.float32)).change_orientation(im.orientation)
        outputs.append(back.data)
    data = np.stack(outputs)
    data[data <= NOISE_THR] = 0
    steps = postprocessing_steps(config, thr, largest, fill_holes, remove_small)
    data = postprocess(data, steps, float(np.prod(im.pixdim[:3])))
    binary = np.isin(data, (0, 1)).all()
    return [empty_like(im, d.astype(np.uint8) if binary else d.astype(np.float32)) for d in data]
