"""PyTorch re-implementations of the pretrained networks, built from their Keras HDF5 files.

Two builders:
- :class:`KerasGraphNet` runs any model whose file stores its Keras graph (the deepseg_sc
  centerline U-Nets and the deepseg_lesion 3-D U-Nets): it walks the stored layer list and
  maps each Keras layer to its torch equivalent.
- :class:`DilatedGMNet` is the deepseg_gm dilated network (Perone et al. 2018), whose files
  hold weights only; its graph is written here from the published architecture (used on GPU;
  on CPU the same graph runs with onnxruntime, see ``gm_onnx``).

All modules take torch's channels-first layout (N, C, spatial...) whatever the Keras data
format was. This module imports torch at import time: import it only where a net is run.
"""
from __future__ import annotations

import logging
import os
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from spinalcordtoolbox.pretrained.gm_onnx import GM_BRANCHES, GM_POOL_POSITION
from spinalcordtoolbox.pretrained.h5weights import (
    WeightFileError, conv_kernel_to_torch, conv_transpose_kernel_to_torch, read_model_config,
    read_weights)

logger = logging.getLogger(__name__)

KERAS_BN_EPSILON = 1e-3  # Keras' default; torch's is 1e-5


# ----------------------------------------------------------------- layer builders
def _same_padding(kernel_size, dilation):
    """Keras 'same' padding for odd kernels and stride 1: d*(k-1)/2 on each side."""
    for k in kernel_size:
        if k % 2 == 0:
            raise WeightFileError(f"'same' padding with an even kernel {kernel_size} is not supported")
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel_size, dilation))


def build_conv(weights: dict, dilation=1, padding="same") -> nn.Module:
    """A torch Conv{2,3}d holding a Keras Conv layer's kernel and bias."""
    kernel = weights["kernel"]
    nd = kernel.ndim - 2
    ksize = kernel.shape[:nd]
    dilation = (dilation,) * nd if np.isscalar(dilation) else tuple(dilation)
    pad = _same_padding(ksize, dilation) if padding == "same" else (0,) * nd
    conv_cls = {2: nn.Conv2d, 3: nn.Conv3d}[nd]
    conv = conv_cls(kernel.shape[-2], kernel.shape[-1], ksize, padding=pad, dilation=dilation,
                    bias="bias" in weights)
    return _set_weights(conv, conv_kernel_to_torch(kernel), weights.get("bias"))


def _set_weights(module: nn.Module, kernel: np.ndarray, bias) -> nn.Module:
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(kernel))
        if bias is not None:
            module.bias.copy_(torch.from_numpy(bias))
    return module


def build_conv_transpose(weights: dict, strides) -> nn.Module:
    kernel = weights["kernel"]
    conv = nn.ConvTranspose2d(kernel.shape[-1], kernel.shape[-2], kernel.shape[:2], stride=tuple(strides),
                              bias="bias" in weights)
    return _set_weights(conv, conv_transpose_kernel_to_torch(kernel), weights.get("bias"))


def build_batchnorm(weights: dict, ndim: int, eps=KERAS_BN_EPSILON) -> nn.Module:
    """Inference-mode BatchNorm with Keras' statistics (gamma/beta optional as in Keras)."""
    mean = weights["moving_mean"]
    bn = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[ndim](mean.shape[0], eps=eps)
    with torch.no_grad():
        bn.running_mean.copy_(torch.from_numpy(mean))
        bn.running_var.copy_(torch.from_numpy(weights["moving_variance"]))
        bn.weight.copy_(torch.from_numpy(weights.get("gamma", np.ones_like(mean))))
        bn.bias.copy_(torch.from_numpy(weights.get("beta", np.zeros_like(mean))))
    return bn.eval()


_ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity, "tanh": nn.Tanh}


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise WeightFileError(f"Unsupported Keras activation '{name}'")
    return _ACTIVATIONS[name]()


class _Concat(nn.Module):
    def forward(self, *xs):
        return torch.cat(xs, dim=1)


# ----------------------------------------------------------------- config-driven graph
class KerasGraphNet(nn.Module):
    """A Keras functional model rebuilt layer by layer from its stored JSON graph."""

    def __init__(self, config: dict, weights: dict):
        super().__init__()
        cfg = config["config"]
        self.input_name = cfg["input_layers"][0][0]
        self.output_name = cfg["output_layers"][0][0]
        self.layers_ = nn.ModuleDict()
        self.graph = []  # (name, [input names]) in execution order
        self.input_shape = None
        ndim = None
        for layer in cfg["layers"]:
            kind, name, lc = layer["class_name"], layer["name"], layer["config"]
            inputs = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            if kind == "InputLayer":
                self.input_shape = tuple(lc["batch_input_shape"][1:])
                self.data_format = "channels_last" if self.input_shape[-1] == 1 else "channels_first"
                ndim = len(self.input_shape) - 1
                continue
            self.layers_[name] = self._build(kind, name, lc, weights, ndim)
            self.graph.append((name, inputs))
        self.ndim = ndim
        self.eval()

    @staticmethod
    def _build(kind, name, lc, weights, ndim) -> nn.Module:
        if kind in ("Conv2D", "Conv3D"):
            if tuple(lc["strides"]) != (1,) * len(lc["strides"]):
                raise WeightFileError(f"Strided convolution {name} is not supported")
            conv = build_conv(weights[name], lc["dilation_rate"], lc["padding"])
            act = lc.get("activation", "linear")
            return conv if act == "linear" else nn.Sequential(conv, _activation(act))
        if kind == "Conv2DTranspose":
            if lc["padding"] != "valid" or tuple(lc["strides"]) != tuple(lc["kernel_size"]):
                raise WeightFileError(f"Transposed convolution {name}: only kernel == stride and 'valid' "
                                      "padding are supported")
            conv = build_conv_transpose(weights[name], lc["strides"])
            act = lc.get("activation", "linear")
            return conv if act == "linear" else nn.Sequential(conv, _activation(act))
        if kind == "BatchNormalization":
            return build_batchnorm(weights[name], ndim, lc.get("epsilon", KERAS_BN_EPSILON))
        if kind == "Activation":
            return _activation(lc["activation"])
        if kind == "Dropout":
            return nn.Identity()  # inactive at inference
        if kind in ("MaxPooling2D", "MaxPooling3D"):
            if lc["padding"] != "valid":
                raise WeightFileError(f"Max pooling {name} with '{lc['padding']}' padding is not supported")
            pool = {2: nn.MaxPool2d, 3: nn.MaxPool3d}[ndim]
            return pool(tuple(lc["pool_size"]), stride=tuple(lc["strides"]))
        if kind in ("UpSampling2D", "UpSampling3D"):
            return nn.Upsample(scale_factor=tuple(float(s) for s in lc["size"]), mode="nearest")
        if kind == "Concatenate":
            return _Concat()
        if kind == "Lambda":
            # The only Lambda in these files is the deepseg_sc output 'z / temperature' with
            # temperature = 1.0 (stored as Python-2 bytecode, unreadable today): the identity.
            return nn.Identity()
        raise WeightFileError(f"Unsupported Keras layer type {kind} ({name})")

    def forward(self, x):
        values = {self.input_name: x}
        for name, inputs in self.graph:
            values[name] = self.layers_[name](*[values[i] for i in inputs])
        return values[self.output_name]


# ----------------------------------------------------------------- deepseg_gm
class _ConvReluBN(nn.Module):
    """deepseg_gm block: Conv -> ReLU -> BatchNorm (BN after the activation)."""

    def __init__(self, conv_w, bn_w, dilation=1):
        super().__init__()
        self.conv = build_conv(conv_w, dilation)
        self.bn = build_batchnorm(bn_w, 2)

    def forward(self, x):
        return self.bn(torch.relu(self.conv(x)))


class DilatedGMNet(nn.Module):
    """deepseg_gm: full-resolution dilated CNN with an atrous-pyramid-like set of branches.

    BatchNormalization layer k pairs with the k-th convolution in creation order.
    """

    def __init__(self, weights: dict):
        super().__init__()
        w = weights

        def bn(k):
            return w[f"batch_normalization_{k}"]

        self.block1 = _ConvReluBN(w["conv2d_1"], bn(1))
        self.block2 = _ConvReluBN(w["conv2d_2"], bn(2))
        self.rate2 = nn.Sequential(_ConvReluBN(w["rate2_1"], bn(3), 2), _ConvReluBN(w["rate2_2"], bn(4), 2))
        branches = []
        k = 5
        for first, second, dil in GM_BRANCHES:
            # branch1x1_2 is 1x1: dilation is irrelevant there, as in the original
            branches.append(nn.Sequential(_ConvReluBN(w[first], bn(k), dil),
                                          _ConvReluBN(w[second], bn(k + 1), dil)))
            k += 2
        self.branches = nn.ModuleList(branches)
        self.bn_concat = build_batchnorm(bn(15), 2)
        self.amort = build_conv(w["amort"])
        self.bn_amort = build_batchnorm(bn(16), 2)
        self.predictions = build_conv(w["predictions"])
        self.eval()

    def forward(self, x):
        first = self.block2(self.block1(x))
        stem = self.rate2(first)
        outs = [branch(stem) for branch in self.branches]
        # global context: the first block's output averaged over the slice, broadcast back
        pooled = first.mean(dim=(2, 3), keepdim=True).expand(-1, -1, x.shape[2], x.shape[3])
        y = torch.cat(outs[:GM_POOL_POSITION] + [pooled] + outs[GM_POOL_POSITION:], dim=1)
        y = self.bn_amort(torch.relu(self.amort(self.bn_concat(y))))
        return torch.sigmoid(self.predictions(y))


# ----------------------------------------------------------------- loading & running
def select_device(device: str = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cpu' / 'cuda' / 'cuda:1' as given."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("CUDA device requested but no GPU is available to torch; use -device cpu")
    return torch.device(device)


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float, device: str) -> nn.Module:
    weights = read_weights(path)
    config = read_model_config(path)
    net = KerasGraphNet(config, weights) if config is not None else DilatedGMNet(weights)
    logger.debug("Loaded %s (%d parameters) on %s", os.path.basename(path),
                 sum(p.numel() for p in net.parameters()), device)
    return net.to(device).eval()


def load_network(path, device: str = "auto") -> nn.Module:
    """The network of a Keras HDF5 file, loaded once per process (and per device)."""
    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise WeightFileError(f"Model weights not found: {path}")
    dev = select_device(device)
    return _load_cached(path, os.path.getmtime(path), str(dev))


def predict(net: nn.Module, batch: np.ndarray, batch_size: int = 8, desc: str | None = None,
            channels_last: bool = False) -> np.ndarray:
    """Run ``net`` on a channels-first float array (N, C, ...) in chunks; returns float32 numpy.

    With ``desc``, a progress bar counts the chunks. ``channels_last`` (2-D networks) runs the
    convolutions in the NHWC layout, ~20 % faster on CPUs (same values to float rounding).
    """
    device = next(net.parameters()).device
    layout = torch.channels_last if channels_last and batch.ndim == 4 else None
    if layout is not None:
        net = net.to(memory_format=layout)
    starts = range(0, len(batch), batch_size)
    if desc is not None:
        from spinalcordtoolbox.utils.cli import progress_bar
        starts = progress_bar(starts, desc=desc, unit="batch")
    outs = []
    with torch.inference_mode():
        for start in starts:
            chunk = torch.from_numpy(np.ascontiguousarray(batch[start:start + batch_size], dtype=np.float32))
            chunk = chunk.to(device) if layout is None else chunk.to(device, memory_format=layout)
            outs.append(np.ascontiguousarray(net(chunk).float().cpu().numpy()))
    return np.concatenate(outs, axis=0) if outs else np.zeros((0,) + batch.shape[1:], np.float32)
