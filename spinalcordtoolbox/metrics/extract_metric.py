"""Values of a metric image within labels: binary/weighted mean, median, max, ML and MAP estimation.

Labels come from an atlas folder (``info_label.txt`` listing one partial-volume map per label,
plus combined labels and MAP clusters, as written by ``sct_warp_template``) or from a single
mask (binary or probabilistic). Slices are selected and grouped (per slice, per vertebral level,
or all together) with :mod:`spinalcordtoolbox.shape.aggregate_slicewise`.

Estimators, for the voxels ``v`` of a group of slices, measured values ``y_v`` and the
partial-volume weight ``w_v`` of the selected label:

- ``wa``: sum(w y) / sum(w);  ``bin``: mean of y where w >= 0.5;
- ``median``: weighted median (continuous quantile, interpolated), voxels with w > 0;
- ``max``: largest y where w > 0;
- ``ml``: least squares over *all* labels of the atlas jointly, ``y = X b`` with X the
  partial-volume matrix (column 0: the selected label, summed over its members; then every
  other individual label), ``b = (X'X)^+ X'y`` (Lévy et al., NeuroImage 2015);
- ``map``: Gaussian prior ``b0`` from an ML fit of the MAP clusters (WM / GM / CSF of
  ``info_label.txt``), each label taking its cluster's value, and equal noise and label
  variances: ``b = b0 + (X'X + I)^+ X'(y - X b0)`` (the established toolbox's formulation).

``STD()`` is the partial-volume-weighted standard deviation around the weighted mean, for every
method; ``Size [vox]`` the sum of the selected label's weights over the voxels used. Voxels whose
value is not finite (or negative, with ``discard_neg_val``) are left out of every estimator.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid
from spinalcordtoolbox.utils.cli import SCTError

logger = logging.getLogger(__name__)

METHODS = ("wa", "bin", "ml", "map", "median", "max")
INFO_LABEL = "info_label.txt"
LEAD_COLUMNS = ["Slice (I->S)", "VertLevel", "DistancePMJ", "Label", "Size [vox]"]


def columns(method: str) -> list[str]:
    """CSV columns after Timestamp/SCT Version/Filename, e.g. ``..., MAP(), STD()``."""
    return LEAD_COLUMNS + [f"{method.upper()}()", "STD()"]


@dataclass
class LabelSet:
    """Individual labels (one weight map each), combined labels and MAP clusters."""
    ids: list                     # individual label ids, in column order
    names: dict                   # id -> name (individual and combined)
    files: list                   # path of each individual label's map
    combined: dict = field(default_factory=dict)   # id -> list of individual ids
    clusters: list = field(default_factory=list)   # [(name, [individual ids])]
    source: str = ""

    def members(self, label_id: int) -> list:
        if label_id in self.combined:
            return list(self.combined[label_id])
        return [label_id]

    def valid_ids_text(self) -> str:
        parts = [format_range_list(self.ids)]
        if self.combined:
            parts.append(format_range_list(self.combined))
        return ", ".join(parts)


def _runs(values):
    """[0,1,2,5,6] -> [[0,1,2],[5,6]]."""
    runs = []
    for v in sorted(values):
        if runs and v == runs[-1][-1] + 1:
            runs[-1].append(v)
        else:
            runs.append([v])
    return runs


def format_range_list(values) -> str:
    """[0,1,2,5] -> ``0:2,5``."""
    from spinalcordtoolbox.shape.aggregate_slicewise import format_range
    return ",".join(format_range(run) for run in _runs(values)) or "none"


def _parse_ids(text: str, what: str) -> list:
    from spinalcordtoolbox.shape.aggregate_slicewise import parse_range
    try:
        return parse_range(text, what)
    except ImageError as e:
        raise SCTError(str(e)) from None


def load_label_set(path, info_file=None) -> LabelSet:
    """Labels of an atlas folder (with ``info_label.txt``, or ``info_file``) or of a single mask."""
    from spinalcordtoolbox.registration.template import read_info_label

    path = Path(path)
    if path.is_file():
        name = path.name
        for ext in (".nii.gz", ".nii"):
            if name.endswith(ext):
                name = name[: -len(ext)]
        return LabelSet(ids=[0], names={0: name}, files=[str(path)], source=str(path))
    if not path.is_dir():
        raise SCTError(f"-f: no such label file or folder: {path}")
    info_path = Path(info_file) if info_file else path / INFO_LABEL
    if info_file and not info_path.is_file():
        raise SCTError(f"-label-file: file not found: {info_file}")
    if not info_path.is_file():
        raise SCTError(f"-f: the folder {path} has no {INFO_LABEL} (give an atlas folder written by "
                       f"sct_warp_template, e.g. label/atlas, or a single mask file)")
    info = read_info_label(info_path)
    if not info.labels:
        raise SCTError(f"{info_path} lists no individual label")
    ids = [i for i, _, _ in info.labels]
    names = {i: n for i, n, _ in info.labels}
    files = [str(path / f) for _, _, f in info.labels]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise SCTError(f"{info_path} lists {Path(missing[0]).name}, which is not in {path}")
    combined = {}
    for cid, cname, group in info.combined:
        members = _parse_ids(group, f"combined label {cid}")
        unknown = [m for m in members if m not in names]
        if unknown:
            raise SCTError(f"Combined label {cid} of {info_path} uses unknown label(s) "
                           f"{','.join(map(str, unknown))}")
        combined[cid] = members
        names[cid] = cname
    clusters = [(cname, _parse_ids(group, f"MAP cluster '{cname}'")) for cname, group in info.map_clusters]
    return LabelSet(ids, names, files, combined, clusters, source=str(path))


def list_labels(path, info_file=None) -> str:
    """Text listing the labels of an atlas folder (``-list-labels``)."""
    labels = load_label_set(path, info_file)
    lines = [f"Labels of {labels.source}:", "ID, name"]
    lines += [f"{i}, {labels.names[i]}" for i in labels.ids]
    if labels.combined:
        lines += ["", "Combined labels (ID, name, individual labels):"]
        lines += [f"{i}, {labels.names[i]}, {format_range_list(m)}" for i, m in labels.combined.items()]
    if labels.clusters:
        lines += ["", "MAP clusters: " + "; ".join(f"{n}" for n, _ in labels.clusters)]
    return "\n".join(lines)


def select_labels(labels: LabelSet, spec: str | None, combine=False) -> list:
    """``[(row label, [individual ids])]`` for ``-l`` (default: every individual label)."""
    if spec in (None, ""):
        wanted = list(labels.ids)
    else:
        wanted = []
        for v in _parse_ids(spec, "label list (-l)"):
            if v not in wanted:
                wanted.append(v)
    unknown = [v for v in wanted if v not in labels.names]
    if unknown:
        raise SCTError(f"Label {','.join(map(str, unknown))} is not in {labels.source}"
                       f"{'/' + INFO_LABEL if os.path.isdir(labels.source) else ''}; valid ids: "
                       f"{labels.valid_ids_text()}")
    if combine and len(wanted) > 1:
        members = []
        for v in wanted:
            members += [m for m in labels.members(v) if m not in members]
        return [(",".join(map(str, wanted)), members)]
    return [(labels.names[v], labels.members(v)) for v in wanted]


# ------------------------------------------------------------------ data
@dataclass
class _Voxels:
    """Voxels covered by at least one label: values, weights (one column per label), slice."""
    y: np.ndarray        # (n,)
    w: np.ndarray        # (n, n_labels)
    z: np.ndarray        # (n,) RPI slice index
    nz: int
    idx: np.ndarray      # (n,) flat index in the RPI volume
    rpi: Image           # the metric image in RPI (grid of the output map)
    left_out: np.ndarray  # (n,) voxels left out (non-finite or discarded value)
    w_left_out: np.ndarray  # their weights (zeroed in ``w``), for the predicted map


def _load_voxels(im_metric: Image, labels: LabelSet, discard_neg_val=False) -> _Voxels:
    """Only the union footprint of the labels is kept (memory bounded by the atlas, not the image)."""
    metric = im_metric.copy().require_3d("metric image")
    ref = metric.copy()
    metric.change_orientation("RPI")
    shape = metric.data.shape
    sparse = []
    for f in labels.files:
        im = Image(f)
        if im.data.ndim > 3:
            im.require_3d(f"label file {Path(f).name}")
        check_same_grid(im, ref, names=(f"label file {Path(f).name}", "metric image"))
        data = np.asarray(im.change_orientation("RPI").data, dtype=np.float64).ravel()
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
        idx = np.flatnonzero(data)
        sparse.append((idx, data[idx]))
    union = np.unique(np.concatenate([s[0] for s in sparse])) if sparse else np.zeros(0, int)
    w = np.zeros((union.size, len(sparse)))
    for k, (idx, vals) in enumerate(sparse):
        w[np.searchsorted(union, idx), k] = vals
    y = np.asarray(metric.data, dtype=np.float64).ravel()[union]
    bad = ~np.isfinite(y)
    if discard_neg_val:
        bad |= y < 0
    if bad.any():
        logger.debug("%d labelled voxels left out (non-finite%s)", bad.sum(),
                     " or negative" if discard_neg_val else "")
    y = np.where(bad, 0.0, y)
    w_bad = w[bad].copy()
    w[bad] = 0.0
    return _Voxels(y=y, w=w, z=union % shape[2], nz=shape[2], idx=union, rpi=metric, left_out=bad,
                   w_left_out=w_bad)


# ------------------------------------------------------------------ estimators
def _wa(y, w):
    s = w.sum()
    return float(np.dot(w, y) / s) if s > 0 else None


def _weighted_std(y, w):
    mean = _wa(y, w)
    if mean is None:
        return None
    return float(np.sqrt(np.dot(w, (y - mean) ** 2) / w.sum()))


def _bin(y, w):
    sel = w >= 0.5
    return float(y[sel].mean()) if sel.any() else None


def weighted_median(y, w):
    """Median treating quantiles as continuous: the cumulative weight at each sorted value is
    taken at the value's centre (S_k - w_k/2) / S and the 0.5 crossing is interpolated."""
    keep = w > 0
    if not keep.any():
        return None
    y, w = y[keep], w[keep]
    order = np.argsort(y, kind="stable")
    y, w = y[order], w[order]
    cum = np.cumsum(w)
    p = (cum - 0.5 * w) / cum[-1]
    return float(np.interp(0.5, p, y))


def _max(y, w):
    keep = w > 0
    return float(y[keep].max()) if keep.any() else None


def ml_estimate(xtx, xty):
    """Least-squares values of every column of X from X'X and X'y: (X'X)^+ X'y."""
    return np.linalg.pinv(xtx) @ xty


def map_estimate(xtx, xty, groups):
    """MAP values of every column of X (from X'X, X'y); ``groups[k]``: prior cluster of column k.

    The prior comes from the ML fit of the cluster sums C = X M (M: column-to-cluster indicator),
    whose normal equations are M'X'X M and M'X'y.
    """
    groups = np.asarray(groups)
    M = np.zeros((len(groups), groups.max() + 1))
    M[np.arange(len(groups)), groups] = 1.0
    prior = ml_estimate(M.T @ xtx @ M, M.T @ xty)[groups]
    return prior + np.linalg.pinv(xtx + np.eye(len(groups))) @ (xty - xtx @ prior)


def _design(labels: LabelSet, members):
    """Columns of the joint model: the selected label (sum of members), then every other label."""
    pos = {lid: k for k, lid in enumerate(labels.ids)}
    sel = [pos[m] for m in members]
    others = [k for k in range(len(labels.ids)) if k not in sel]
    return sel, others


def _prior_groups(labels: LabelSet, members, others):
    """MAP prior cluster of each column of the design: the selected label's clusters are merged
    into one (with every other label of those clusters); labels outside any cluster get their own."""
    cluster_of = {}
    for c, (_, ids) in enumerate(labels.clusters):
        for i in ids:
            cluster_of.setdefault(i, c)
    n_clusters = len(labels.clusters)
    col_cluster = []
    for k in others:
        lid = labels.ids[k]
        if lid not in cluster_of:
            cluster_of[lid] = n_clusters
            n_clusters += 1
        col_cluster.append(cluster_of[lid])
    first = set()
    for m in members:
        if m not in cluster_of:
            cluster_of[m] = n_clusters
            n_clusters += 1
        first.add(cluster_of[m])
    remap = {}
    groups = [0]
    for c in col_cluster:
        if c in first:
            groups.append(0)
        else:
            groups.append(remap.setdefault(c, len(remap) + 1))
    return groups


def estimate(method, y, W, labels: LabelSet, members, gram=None):
    """(value, std, size) of the label made of ``members`` for the voxels ``y`` (weights W).

    ``gram``: (W'W, W'y), shared by every label of a group of slices; the joint model's normal
    equations follow from it with the column selection T (X = W T).
    """
    sel, others = _design(labels, members)
    w = W[:, sel].sum(axis=1)
    size = float(w.sum())
    if size <= 0:
        return None, None, size
    std = _weighted_std(y, w)
    if method == "wa":
        value = _wa(y, w)
    elif method == "bin":
        value = _bin(y, w)
    elif method == "median":
        value = weighted_median(y, w)
    elif method == "max":
        value = _max(y, w)
    else:
        wtw, wty = gram if gram is not None else (W.T @ W, W.T @ y)
        T = np.zeros((W.shape[1], 1 + len(others)))
        T[sel, 0] = 1.0
        T[others, np.arange(1, 1 + len(others))] = 1.0
        xtx, xty = T.T @ wtw @ T, T.T @ wty
        if method == "ml":
            value = float(ml_estimate(xtx, xty)[0])
        else:
            value = float(map_estimate(xtx, xty, _prior_groups(labels, members, others))[0])
    return value, std, size


# ------------------------------------------------------------------ public entry
def extract_metric(im_metric: Image, label_path, *, labels=None, method="wa", z=None, vert=None,
                   im_vertfile: Image | None = None, perslice=None, perlevel=False, combine=False,
                   discard_neg_val=False, info_file=None, return_map=False):
    """Rows (dicts keyed by :func:`columns`) of ``sct_extract_metric``.

    ``z``/``vert``/``labels`` are range strings (``0:4``, ``2,3``). ``perslice=None`` means one
    row per slice when neither ``z`` nor ``vert`` is given, as the established toolbox does.
    With ``return_map``, returns ``(rows, map)``: the image (grid and orientation of the metric)
    of sum_k w_k x_k over every individual label k, x_k its value estimated by ``method`` in each
    group of slices: the metric the model predicts, to compare with the data (partial volume).
    """
    from spinalcordtoolbox.shape import aggregate_slicewise as agg

    if method not in METHODS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("method", method, METHODS)
    label_set = load_label_set(label_path, info_file)
    wanted = select_labels(label_set, labels, combine=combine)
    z_range = agg.parse_range(z, "slice range (-z)") if z else None
    vert_list = agg.parse_range(vert, "vertebral levels (-vert)") if vert else None
    if perlevel:
        perslice = False      # -perlevel wins over -perslice, as in the established toolbox
    elif perslice is None:
        perslice = z_range is None and vert_list is None
    levels = None
    if vert_list is not None or perlevel:
        if im_vertfile is None:
            raise SCTError("-vert and -perlevel need a vertebral level file (-vertfile)")
        im_vertfile = im_vertfile.copy().require_3d("vertebral level file")
        check_same_grid(im_vertfile, im_metric, names=("vertebral level file", "metric image"))
        levels = agg.levels_per_slice(im_vertfile)
        present = sorted({int(v) for v in levels[~np.isnan(levels)]})
        if vert_list is None:
            vert_list = present
        # levels outside the image are skipped (with a warning), as the established toolbox does
        missing = [v for v in vert_list if v not in present]
        vert_list = [v for v in vert_list if v in present]
        if not vert_list:
            raise SCTError(f"None of the vertebral levels {format_range_list(missing)} is in the "
                           f"vertebral level file (levels present: {format_range_list(present)})")
        if missing:
            logger.warning("Vertebral level(s) %s not in the vertebral level file: skipped",
                           format_range_list(missing))
    vox = _load_voxels(im_metric, label_set, discard_neg_val=discard_neg_val)
    if vox.y.size == 0 or not vox.w.any():
        raise SCTError(f"The labels of {label_set.source} are empty on the metric image's grid")
    # slices holding any label weight, as the "cord" of the shared slice selection
    covered = np.bincount(vox.z, weights=vox.w.sum(axis=1), minlength=vox.nz) > 0
    present = {"area": np.where(covered, 1.0, np.nan)}
    try:
        slices = agg.select_slices(present, z_range=z_range, levels=levels, vert=vert_list,
                                   require_cord=not perslice)
        groups = agg.group_slices(slices, levels=levels, perslice=perslice, perlevel=perlevel,
                                  z_range=z_range)
    except ImageError as e:
        raise SCTError(str(e).replace("cord", "label weight")) from None
    rows = [[] for _ in wanted]
    predicted = np.zeros(vox.y.size) if return_map else None
    for zs, slice_label, level_label in groups:
        keep = np.isin(vox.z, zs)
        y, W = vox.y[keep], vox.w[keep]
        gram = (W.T @ W, W.T @ y) if method in ("ml", "map") else None
        if return_map:
            values = [estimate(method, y, W, label_set, [lid], gram)[0] for lid in label_set.ids]
            values = np.array([0.0 if v is None else v for v in values])
            predicted[keep] = W @ values
            # voxels left out of the fit still get the model's value
            out_keep = keep[vox.left_out]
            predicted[np.flatnonzero(vox.left_out)[out_keep]] = vox.w_left_out[out_keep] @ values
        for k, (row_label, members) in enumerate(wanted):
            value, std, size = estimate(method, y, W, label_set, members, gram)
            rows[k].append({"Slice (I->S)": slice_label, "VertLevel": level_label, "DistancePMJ": None,
                            "Label": row_label, "Size [vox]": size, f"{method.upper()}()": value,
                            "STD()": std})
    # one block of rows per label, as the established toolbox writes them
    rows = [row for block in rows for row in block]
    if not return_map:
        return rows
    data = np.zeros(vox.rpi.data.shape, np.float32)
    data.ravel()[vox.idx] = predicted
    out = Image(data, hdr=vox.rpi.hdr, affine=vox.rpi.affine)
    out.hdr.set_data_dtype(np.float32)
    return rows, out.change_orientation(im_metric.orientation)
