"""b-vector and b-value files: reading (FSL 3-row or N x 3 layout), writing, concatenation,
b=0 detection, b-value from gradient timing, and a picture of the directions on the sphere.

Files are plain text: bvals one row (or one column) of numbers; bvecs either FSL's layout (3
rows of N numbers, as written by dcm2niix) or N rows of 3 numbers. A 3 x 3 file is ambiguous
and read in FSL's layout (rows = x, y, z).
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.utils.cli import SCTError
from spinalcordtoolbox.utils.fs import atomic_write_text

#: Gyromagnetic ratio of the proton (rad s^-1 T^-1)
GAMMA = 2.675222005e8
#: Without b-values, a direction whose norm is below this is a b=0 volume
BVEC_ZERO_NORM = 0.01


def _read_numbers(path, what) -> np.ndarray:
    try:
        with open(path, encoding="utf-8") as f:
            rows = [line.replace(",", " ").split() for line in f if line.strip()
                    and not line.lstrip().startswith("#")]
        arr = [[float(v) for v in r] for r in rows]
    except (OSError, ValueError) as e:
        raise SCTError(f"Cannot read the {what} file {path}: {e}") from None
    if not arr:
        raise SCTError(f"The {what} file {path} is empty")
    if len({len(r) for r in arr}) != 1:
        raise SCTError(f"The {what} file {path} has rows of different lengths: "
                       f"{sorted({len(r) for r in arr})}")
    return np.asarray(arr, dtype=float)


def read_bvecs(path) -> np.ndarray:
    """Directions as an (N, 3) array, from either layout."""
    arr = _read_numbers(path, "bvecs")
    if arr.shape[0] == 3:
        return np.ascontiguousarray(arr.T)
    if arr.shape[1] == 3:
        return arr
    raise SCTError(f"The bvecs file {path} has {arr.shape[0]} rows of {arr.shape[1]} values: "
                   f"expected 3 rows (FSL) or 3 columns")


def read_bvals(path) -> np.ndarray:
    """b-values (N,), from one row or one column."""
    arr = _read_numbers(path, "bvals")
    if arr.shape[0] != 1 and arr.shape[1] != 1:
        raise SCTError(f"The bvals file {path} has {arr.shape[0]} rows of {arr.shape[1]} values: "
                       f"expected one row or one column")
    return arr.ravel()


def _fmt(v) -> str:
    return f"{float(v):.10g}"


def write_bvecs(path, bvecs: np.ndarray, layout="fsl"):
    """Write (N, 3) directions as FSL's 3 rows (``layout="fsl"``) or N rows of 3."""
    bvecs = np.asarray(bvecs, dtype=float).reshape(-1, 3)
    rows = bvecs.T if layout == "fsl" else bvecs
    atomic_write_text(path, "".join(" ".join(_fmt(v) for v in r) + "\n" for r in rows))


def write_bvals(path, bvals: np.ndarray):
    atomic_write_text(path, " ".join(_fmt(v) for v in np.ravel(bvals)) + "\n")


def check_count(n_volumes: int, values: np.ndarray, what: str, path=None, against="the image has"):
    """One-line error when a gradient file does not have one entry per volume."""
    if len(values) != n_volumes:
        where = f" ({path})" if path else ""
        raise SCTError(f"The {what} file{where} has {len(values)} entries but {against} "
                       f"{n_volumes} volumes")


def b0_mask(bvecs: np.ndarray | None = None, bvals: np.ndarray | None = None,
            bvalmin: float | None = None) -> np.ndarray:
    """Boolean (N,): True for b=0 volumes.

    With b-values: b <= ``bvalmin`` (default 0, i.e. exactly zero). Without: a zero direction
    (norm < 0.01), as b=0 volumes are written in bvecs files.
    """
    if bvals is not None:
        return np.asarray(bvals) <= (0.0 if bvalmin is None else float(bvalmin))
    if bvecs is None:
        raise SCTError("Give the bvecs (or bvals) to tell b=0 from diffusion-weighted volumes")
    return np.linalg.norm(np.asarray(bvecs).reshape(-1, 3), axis=1) < BVEC_ZERO_NORM


def compute_bvalue(gradient_mT_m: float, big_delta_ms: float, small_delta_ms: float) -> float:
    """Stejskal-Tanner b-value (s/mm^2) of a pulsed-gradient pair of rectangular lobes:
    b = (gamma G delta)^2 (Delta - delta / 3)."""
    if small_delta_ms <= 0 or big_delta_ms <= 0 or gradient_mT_m < 0:
        raise SCTError("Gradient amplitude must be >= 0 and both durations > 0")
    if small_delta_ms > big_delta_ms:
        raise SCTError(f"The gradient duration delta ({small_delta_ms} ms) exceeds the separation "
                       f"Delta ({big_delta_ms} ms)")
    g = gradient_mT_m * 1e-3          # T/m
    d, D = small_delta_ms * 1e-3, big_delta_ms * 1e-3  # s
    b_si = (GAMMA * g * d) ** 2 * (D - d / 3)          # s/m^2
    return b_si * 1e-6                                  # s/mm^2


def transpose_bvecs(path_in, path_out):
    """Rewrite a bvecs file in the other layout (FSL 3 rows <-> N rows of 3); returns the
    layout written ("fsl" or "rows")."""
    arr = _read_numbers(path_in, "bvecs")
    if arr.shape[0] != 3 and arr.shape[1] != 3:
        read_bvecs(path_in)  # raises the layout error
    layout = "rows" if arr.shape[0] == 3 else "fsl"
    write_bvecs(path_out, read_bvecs(path_in), layout=layout)
    return layout


def concat_bvals(paths) -> np.ndarray:
    return np.concatenate([read_bvals(p) for p in paths])


def concat_bvecs(paths) -> np.ndarray:
    return np.concatenate([read_bvecs(p) for p in paths], axis=0)


def plot_bvecs(bvecs: np.ndarray, path, bvals: np.ndarray | None = None):
    """PNG of the directions on the unit sphere (3-D view and the three projections)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from spinalcordtoolbox.utils.fs import atomic_output, check_not_input

    check_not_input(path)
    v = np.asarray(bvecs, dtype=float).reshape(-1, 3)
    dwi = ~b0_mask(v, bvals)
    u = v[dwi] / np.linalg.norm(v[dwi], axis=1, keepdims=True) if dwi.any() else np.zeros((0, 3))
    fig = plt.figure(figsize=(10, 10))
    ax = fig.add_subplot(2, 2, 1, projection="3d")
    ax.scatter(u[:, 0], u[:, 1], u[:, 2], c="tab:blue")
    ax.scatter(-u[:, 0], -u[:, 1], -u[:, 2], c="tab:blue", alpha=0.25)
    ax.set_xlim(-1, 1), ax.set_ylim(-1, 1), ax.set_zlim(-1, 1)
    ax.set_title(f"{len(u)} directions (faded: antipodes), {int((~dwi).sum())} b=0")
    t = np.linspace(0, 2 * np.pi, 200)
    for k, (a, b, name) in enumerate(((0, 1, "X-Y"), (0, 2, "X-Z"), (1, 2, "Y-Z"))):
        axp = fig.add_subplot(2, 2, k + 2)
        axp.plot(np.cos(t), np.sin(t), color="0.7", lw=0.8)
        axp.scatter(u[:, a], u[:, b], c="tab:blue")
        axp.scatter(-u[:, a], -u[:, b], c="tab:blue", alpha=0.25)
        axp.set_aspect("equal"), axp.set_xlim(-1.1, 1.1), axp.set_ylim(-1.1, 1.1)
        axp.set_title(name)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
