"""The one CSV writer for result tables (process_segmentation, extract_metric, compression...).

Every results CSV starts with ``Timestamp, SCT Version, Filename``; values that do not apply
are written as empty fields (never 0 or NaN); ``append=True`` adds rows under an existing
header (and refuses a header that differs, rather than silently misaligning columns).

Appending is safe for parallel writers (a batch where every subject appends to one results
file): the read-check-append runs under an exclusive lock on the CSV itself, so no row is
lost and the header is written once. Inside a command, the rows are appended when the
command succeeds (a failed command adds nothing).
"""
from __future__ import annotations

import csv
import datetime
import io
import math
import os

from spinalcordtoolbox import __version__
from spinalcordtoolbox.utils.fs import atomic_write_text, check_not_input, on_commit

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
    for row in rows:
        writer.writerow([stamp, __version__, filename] + [_format(row.get(c)) for c in columns])
    if append:
        check_not_input(path)
        _check_header(path, header, _read_text(path))  # refuse early, before the command ends
        on_commit(lambda: append_rows(path, header, buf.getvalue()))
        return path
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow(header)
    atomic_write_text(path, head.getvalue() + buf.getvalue())
    return path


def _read_text(path) -> str:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _check_header(path, header, existing: str):
    if existing.strip():
        old_header = next(csv.reader(io.StringIO(existing)))
        if old_header != header:
            raise ValueError(f"Cannot append to {path}: its columns differ from this command's "
                             f"(write to another file, or without -append)")


def append_rows(path, header, rows_text: str):
    """Append CSV rows (text) under ``header``, writing the header if the file is new or empty.

    Holds an exclusive lock on the file for the whole read-check-append, so simultaneous
    writers each add their rows exactly once.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow(header)
    with open(path, "a+", newline="", encoding="utf-8") as f:
        with _locked(f, path):
            f.seek(0)
            existing = f.read()
            _check_header(path, header, existing)
            text = rows_text
            if not existing.strip():
                text = head.getvalue() + rows_text
            elif not existing.endswith("\n"):
                text = "\n" + rows_text
            f.seek(0, os.SEEK_END)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


class _locked:
    """Exclusive lock on an open file: fcntl on POSIX (no lock file left behind), filelock elsewhere."""

    def __init__(self, f, path):
        self.f, self.path, self.other = f, path, None

    def __enter__(self):
        try:
            import fcntl
            fcntl.flock(self.f.fileno(), fcntl.LOCK_EX)
        except ImportError:
            from filelock import FileLock
            self.other = FileLock(self.path + ".lock")
            self.other.acquire()
        return self

    def __exit__(self, *exc):
        if self.other is not None:
            self.other.release()
        else:
            import fcntl
            fcntl.flock(self.f.fileno(), fcntl.LOCK_UN)


def read_results_csv(path):
    """Read a results CSV with pandas (empty fields become NaN)."""
    import pandas as pd
    return pd.read_csv(path)
