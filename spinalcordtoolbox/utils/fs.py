"""File-system helpers: atomic outputs, protection of input files, temporary folders.

Every output of the toolbox goes through :func:`atomic_output`, so an interrupted command
never leaves a half-written file, and through :func:`check_not_input`, so a command never
overwrites one of its own inputs.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import tempfile
from pathlib import Path

_PROTECTED_INPUTS: set[str] = set()


class OutputError(ValueError):
    """Raised when an output cannot be written where asked (e.g. it would overwrite an input)."""


def register_input(path) -> str:
    """Mark ``path`` as an input of the running command: outputs may not overwrite it."""
    real = os.path.realpath(os.fspath(path))
    _PROTECTED_INPUTS.add(real)
    return os.fspath(path)


def clear_registered_inputs():
    _PROTECTED_INPUTS.clear()


def check_not_input(path):
    if os.path.realpath(os.fspath(path)) in _PROTECTED_INPUTS:
        raise OutputError(f"Refusing to overwrite the input file {path}: choose another output name")


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` only on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(path)
    # keep the extension so that writers choosing the format by name (nibabel: .nii.gz) work
    ext = "".join(Path(name).suffixes) or ""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".part{ext}", dir=folder)
    os.close(fd)
    try:
        yield tmp
        # mkstemp creates 0600 files: give outputs the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text: str):
    check_not_input(path)
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def tmp_create(basename="sct") -> str:
    """Create a fresh temporary folder (under $SCT_TMPDIR or the system temp dir)."""
    root = os.environ.get("SCT_TMPDIR") or tempfile.gettempdir()
    stamp = datetime.datetime.now().strftime("%y%m%d%H%M%S")
    return tempfile.mkdtemp(prefix=f"{basename}_{stamp}_", dir=root)


@contextlib.contextmanager
def temporary_folder(basename="sct", remove=True):
    """A temporary folder removed at the end unless ``remove`` is False (``-r 0``)."""
    path = tmp_create(basename)
    try:
        yield path
    finally:
        if remove:
            shutil.rmtree(path, ignore_errors=True)
        else:
            import logging
            logging.getLogger(__name__).info("Temporary files kept in %s", path)
