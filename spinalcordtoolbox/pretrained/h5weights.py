"""Read Keras 2 HDF5 weight files with h5py (no TensorFlow) and convert tensors to torch layouts.

A Keras file holds, per layer, its weight arrays in a fixed order: Conv ``kernel, bias``;
BatchNormalization ``gamma, beta, moving_mean, moving_variance``. Full-model files also store
the model graph as JSON (``model_config``); weight-only files (deepseg_gm) do not.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# Keras' own order of each layer's weight arrays, by the array's name suffix
_WEIGHT_ORDER = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")


class WeightFileError(ValueError):
    """A weight file is missing, unreadable or does not hold what the network needs."""


def _open(path):
    import h5py

    path = Path(path)
    if not path.is_file():
        raise WeightFileError(f"Model weights not found: {path}")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise WeightFileError(f"Cannot read model weights {path} (not an HDF5 file?): {e}") from None


def _decode(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def read_weights(path) -> dict[str, dict[str, np.ndarray]]:
    """``{layer_name: {"kernel": array, "bias": array, ...}}`` for every layer that has weights."""
    with _open(path) as f:
        group = f["model_weights"] if "model_weights" in f else f
        layers = {}
        for name in group.attrs.get("layer_names", list(group.keys())):
            name = _decode(name)
            layer = group[name]
            names = [_decode(n) for n in layer.attrs.get("weight_names", [])]
            if not names:
                continue
            arrays = {}
            for wname in names:
                key = wname.split("/")[-1].split(":")[0]
                if key not in _WEIGHT_ORDER:
                    raise WeightFileError(f"Unexpected weight '{wname}' in layer {name} of {path}")
                arrays[key] = np.asarray(layer[wname], dtype=np.float32)
            layers[name] = arrays
    if not layers:
        raise WeightFileError(f"No layer weights found in {path}")
    return layers


def read_model_config(path) -> dict | None:
    """The Keras model graph stored in a full-model file, or None for weight-only files."""
    with _open(path) as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            return None
        return json.loads(_decode(raw))


def conv_kernel_to_torch(kernel: np.ndarray) -> np.ndarray:
    """Keras Conv kernel (k1, ..., kn, in, out) -> torch (out, in, k1, ..., kn)."""
    nd = kernel.ndim - 2
    return np.ascontiguousarray(np.transpose(kernel, (nd + 1, nd) + tuple(range(nd))))


def conv_transpose_kernel_to_torch(kernel: np.ndarray) -> np.ndarray:
    """Keras Conv2DTranspose kernel (kh, kw, out, in) -> torch ConvTranspose (in, out, kh, kw).

    Both frameworks define the transposed convolution as the gradient of the same
    (cross-correlation) convolution, so only the axes move; no spatial flip.
    """
    nd = kernel.ndim - 2
    return np.ascontiguousarray(np.transpose(kernel, (nd + 1, nd) + tuple(range(nd))))
