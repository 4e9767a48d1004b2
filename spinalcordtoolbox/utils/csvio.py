"""The one CSV writer for result tables (process_segmentation, extract_metric, compression...).

Every results CSV starts with ``Timestamp, SCT Version, Filename``; values that do not apply
are written as empty fields (never 0 or NaN); ``append=True`` adds rows under an existing
header (and refuses a header that differs, rather than silently misaligning columns).
"""
from __future__ import annotations

import csv
import datetime
import io
import math
import os

from spinalcordtoolbox import __version__
from spinalcordtoolbox.utils.fs import atomic_write_text

LEADING_COLUMNS = ["Timestamp", "SCT Version", "Filename"]


def _format(value):
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(float(value))  # np.float64 is a float subclass whose repr is "np.float64(...)"
    try:
        import numpy as np
        if isinstance(value, np.floating):
            return _format(float(value))
        if isinstance(value, np.integer):
            return str(int(value))
    except ImportError:
        pass
    return str(value)


def write_results_csv(path, rows, columns, filename="", append=False):
    """Write ``rows`` (dicts keyed by ``columns``) with the leading toolbox columns."""
    header = LEADING_COLUMNS + list(columns)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    filename = os.path.abspath(filename) if filename else ""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    existing = ""
    if append and os.path.isfile(path) and os.path.getsize(path) > 0:
        with open(path, newline="", encoding="utf-8") as f:
            existing = f.read()
        old_header = next(csv.reader(io.StringIO(existing)))
        if old_header != header:
            raise ValueError(f"Cannot append to {path}: its columns differ from this command's")
        if not existing.endswith("\n"):
            existing += "\n"
    else:
        writer.writerow(header)
    for row in rows:
        writer.writerow([stamp, __version__, filename] + [_format(row.get(c)) for c in columns])
    atomic_write_text(path, existing + buf.getvalue())
    return path


def read_results_csv(path):
    """Read a results CSV with pandas (empty fields become NaN)."""
    import pandas as pd
    return pd.read_csv(path)
