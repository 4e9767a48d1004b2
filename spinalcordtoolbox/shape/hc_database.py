"""The healthy-control morphometry database (PAM50-normalized-metrics): load, filter, summarise, plot.

The database holds one CSV per healthy subject with per-slice metrics in PAM50 slice numbering
(the layout ``sct_process_segmentation -normalize-PAM50 1`` writes) and a ``participants.tsv``
with sex and age. Used for the ``-normalize-PAM50`` plot and ``sct_compute_compression
-normalize-hc``.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


class HCDatabaseError(ValueError):
    """The healthy-control database is missing or has no subject matching the filters."""


def hc_folder() -> Path:
    """Installed copy of the database (installed on demand)."""
    from spinalcordtoolbox.download import locate
    return locate("PAM50_normalized_metrics")


def load_hc(folder=None, sex=None, age=None, metrics=None):
    """All subjects' per-slice rows as one DataFrame (column ``participant_id`` added).

    ``sex`` in {"F", "M"}; ``age`` = (min, max) inclusive; ``metrics`` (e.g. ["area"]) reads
    only those ``MEAN()`` columns (faster).
    """
    import pandas as pd

    folder = Path(folder) if folder else hc_folder()
    csvs = sorted(folder.rglob("*_PAM50.csv"))
    tsvs = sorted(folder.rglob("participants.tsv"))
    if not csvs:
        raise HCDatabaseError(f"No *_PAM50.csv file in the healthy-control database {folder}")
    participants = pd.concat([pd.read_csv(t, sep="\t") for t in tsvs]) if tsvs else None
    keep = None
    if sex is not None or age is not None:
        if participants is None:
            raise HCDatabaseError("participants.tsv is missing: cannot filter by sex/age")
        p = participants
        if sex is not None:
            p = p[p["sex"].astype(str).str.upper() == sex.upper()]
        if age is not None:
            ages = pd.to_numeric(p["age"], errors="coerce")
            p = p[(ages >= age[0]) & (ages <= age[1])]
        keep = set(p["participant_id"])
        if not keep:
            raise HCDatabaseError(f"No healthy control with sex={sex} age={age}")
    frames = []
    for path in csvs:
        pid = path.name.split("_")[0]
        if keep is not None and pid not in keep:
            continue
        usecols = None if metrics is None else ["Slice (I->S)", "VertLevel"] + [f"MEAN({m})" for m in metrics]
        df = pd.read_csv(path, usecols=usecols)
        df["participant_id"] = pid
        frames.append(df)
    logger.info("Healthy-control database: %d subjects", len(frames))
    return pd.concat(frames, ignore_index=True)


def hc_slice_stats(df, metric: str):
    """Per PAM50 slice: mean, SD and number of subjects of ``MEAN(<metric>)``.

    Returns a DataFrame indexed by ``Slice (I->S)`` with columns mean, std, n, VertLevel.
    """
    col = f"MEAN({metric})"
    if col not in df.columns:
        raise HCDatabaseError(f"Metric '{metric}' is not in the healthy-control database")
    grouped = df.groupby("Slice (I->S)")
    out = grouped[col].agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    out["VertLevel"] = grouped["VertLevel"].median()
    return out


def plot_metric_vs_hc(pam_values: np.ndarray, pam50_levels: np.ndarray, stats, path,
                      metric="area", title=""):
    """PNG: the subject's metric along PAM50 slices against the healthy mean +/- SD, per level."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spinalcordtoolbox.utils.fs import atomic_output, check_not_input

    check_not_input(path)
    z = np.arange(len(pam_values))
    has = ~np.isnan(pam_values)
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    hz = stats.index.to_numpy()
    ax.fill_between(hz, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                    color="0.8", label="healthy controls, mean ± SD")
    ax.plot(hz, stats["mean"], color="0.4", lw=1)
    ax.plot(z[has], pam_values[has], color="tab:red", lw=1.5, label="subject")
    # one tick per vertebral level, at its centre; lines at the boundaries
    levels = [int(v) for v in np.unique(pam50_levels[pam50_levels > 0])]
    centres = [np.flatnonzero(pam50_levels == v).mean() for v in levels]
    for v in levels:
        ax.axvline(np.flatnonzero(pam50_levels == v).min() - 0.5, color="0.9", lw=0.5, zorder=0)
    names = [f"C{v}" if v <= 7 else f"T{v - 7}" if v <= 19 else f"L{v - 19}" for v in levels]
    ax.set_xticks(centres, names, fontsize=7)
    if has.any():
        zs = z[has]
        ax.set_xlim(zs.max() + 20, zs.min() - 20)   # superior levels on the left
    else:
        ax.invert_xaxis()
    unit = " [mm²]" if metric == "area" else " [mm]" if metric.startswith("diameter") else ""
    ax.set_ylabel(f"{metric}{unit}")
    ax.set_xlabel("vertebral level (PAM50)")
    ax.set_title(title or f"{metric} normalised to PAM50")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
