"""The deepseg_gm network as an ONNX graph run on CPU by onnxruntime (no torch).

Why a second runtime for this one network: on CPU, onnxruntime imports in ~0.1 s where torch
takes ~1.5 s, and runs this network faster on 2 threads; ``sct_deepseg_gm`` on t2s went from
6.7 to 1.6 CPU-seconds (testing/benchmarks/bench_pretrained.py). The graph is built here from
the Keras HDF5 weights (branch wiring shared with :class:`networks.DilatedGMNet` through
:data:`GM_BRANCHES`; torch runs the same network on a GPU). Both agree to ~1e-4 (float32
summation order) and give the same masks on the test data.
"""
from __future__ import annotations

import logging
import os
from functools import lru_cache

import numpy as np

logger = logging.getLogger(__name__)

# (first conv, second conv, dilation) of each parallel branch, in concatenation order; the
# global-average-pool branch is concatenated between the 4th and 5th (Perone et al. 2018)
GM_BRANCHES = (("branch1x1_1", "branch1x1_2", 1), ("rate6_1", "rate6_2", 6),
               ("rate12_1", "rate12_2", 12), ("rate18_1", "rate18_2", 18),
               ("rate24_1", "rate24_2", 24))
GM_POOL_POSITION = 4
KERAS_BN_EPSILON = 1e-3
ONNX_OPSET = 17
# pixels per forward pass (slices x H x W): one 200 x 200 window. onnxruntime runs a slice in
# about the same time per pixel alone or batched (measured 0.13 vs 0.11 s per 98 x 108 slice),
# while its peak memory grows with the pass (t2s, large: ~300 MiB for 3 slices, 480 for 7)
GM_PIXELS_PER_PASS = 200 * 200


def build_gm_graph(weights: dict):
    """ONNX ModelProto of deepseg_gm: input (N, 1, H, W) standardised slices -> GM probability.

    Every block is Conv -> ReLU -> BatchNorm (BN after the activation, so it cannot be folded
    into the convolution without changing the zero padding of the next one); BN layer k pairs
    with the k-th convolution in creation order.
    """
    from onnx import TensorProto, helper, numpy_helper

    from spinalcordtoolbox.pretrained.h5weights import WeightFileError, conv_kernel_to_torch

    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def conv(x, layer, dilation=1):
        if layer not in weights:
            raise WeightFileError(f"Layer {layer} missing from the deepseg_gm weights")
        kernel = conv_kernel_to_torch(weights[layer]["kernel"])  # (out, in, kh, kw), as ONNX
        k = kernel.shape[2]
        pad = dilation * (k - 1) // 2  # Keras 'same' for odd kernels
        nodes.append(helper.make_node(
            "Conv", [x, const(layer + "/W", kernel), const(layer + "/B", weights[layer]["bias"])],
            [layer], kernel_shape=[k, k], dilations=[dilation] * 2, pads=[pad] * 4))
        return layer

    def batchnorm(x, k):
        name = f"batch_normalization_{k}"
        w = weights[name]
        mean = w["moving_mean"]
        nodes.append(helper.make_node(
            "BatchNormalization",
            [x, const(name + "/gamma", w.get("gamma", np.ones_like(mean))),
             const(name + "/beta", w.get("beta", np.zeros_like(mean))),
             const(name + "/mean", mean), const(name + "/var", w["moving_variance"])],
            [name], epsilon=KERAS_BN_EPSILON))
        return name

    def relu(x):
        nodes.append(helper.make_node("Relu", [x], [x + "/relu"]))
        return x + "/relu"

    def block(x, layer, k, dilation=1):
        return batchnorm(relu(conv(x, layer, dilation)), k)

    first = block(block("input", "conv2d_1", 1), "conv2d_2", 2)
    stem = block(block(first, "rate2_1", 3, 2), "rate2_2", 4, 2)
    outs, k = [], 5
    for a, b, dilation in GM_BRANCHES:
        # branch1x1_2 is 1x1: its dilation is irrelevant, as in the original
        outs.append(block(block(stem, a, k, dilation), b, k + 1, dilation))
        k += 2
    # global context: the first block's output averaged over the slice, broadcast back
    nodes += [helper.make_node("GlobalAveragePool", [first], ["pool"]),
              helper.make_node("Shape", [first], ["pool/shape"]),
              helper.make_node("Expand", ["pool", "pool/shape"], ["pool/expanded"])]
    outs.insert(GM_POOL_POSITION, "pool/expanded")
    nodes.append(helper.make_node("Concat", outs, ["concat"], axis=1))
    head = block(batchnorm("concat", 15), "amort", 16)
    nodes.append(helper.make_node("Sigmoid", [conv(head, "predictions")], ["output"]))
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 1, "H", "W"])
          for n in ("input", "output")]
    graph = helper.make_graph(nodes, "deepseg_gm", io[:1], io[1:], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], ir_version=8)


def cpu_threads() -> int:
    """Threads for the network: the CPUs this process may use, at most $OMP_NUM_THREADS."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
    return max(1, n)


@lru_cache(maxsize=4)
def _session(path: str, mtime: float, threads: int):
    import onnxruntime as ort

    from spinalcordtoolbox.pretrained.h5weights import read_weights

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # no busy-waiting between operators: costs nothing here (each op runs for milliseconds) and
    # stops idle threads from burning CPU when several jobs share the machine
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    model = build_gm_graph(read_weights(path)).SerializeToString()
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def load_gm_session(path):
    """The onnxruntime session of a deepseg_gm HDF5 file, built once per process."""
    from spinalcordtoolbox.pretrained.h5weights import WeightFileError

    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise WeightFileError(f"Model weights not found: {path}")
    return _session(path, os.path.getmtime(path), cpu_threads())


def run_gm_session(session, batch: np.ndarray, desc: str | None = None) -> np.ndarray:
    """GM probabilities of (N, 1, H, W) slices, in passes of equal size within the pixel budget
    (one shape: onnxruntime reuses its memory plan)."""
    n, _, h, w = batch.shape
    passes = -(-n * h * w // GM_PIXELS_PER_PASS)
    per_pass = max(1, -(-n // max(passes, 1)))
    starts = range(0, n, per_pass)
    if desc is not None and len(starts) > 1:
        from spinalcordtoolbox.utils.cli import progress_bar
        starts = progress_bar(starts, desc=desc, unit="batch")
    outs = [session.run(["output"], {"input": np.ascontiguousarray(batch[s:s + per_pass], np.float32)})[0]
            for s in starts]
    return np.concatenate(outs, axis=0) if outs else np.zeros(batch.shape, np.float32)
