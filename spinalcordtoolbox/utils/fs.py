"""File-system helpers: atomic outputs, output transactions, input protection, temporary folders.

Every output of the toolbox goes through :func:`atomic_output`, so an interrupted command
never leaves a half-written file, and through :func:`check_not_input`, so a command never
overwrites one of its own inputs.

A command run through ``run_command`` is an *output transaction* (:func:`output_transaction`):
each file it writes is recorded, and when the command fails (exception, Ctrl-C, SIGTERM) the
files it created are removed and the files it replaced are restored, so a failed command
leaves the folder as it found it. Commands writing a set of files that only make sense
together write them into :func:`staged_folder`, moved into place at the very end, so even a
SIGKILL cannot leave a partial set that looks complete.

Temporary names carry the writer's process id (``.<name>.sct<pid>@<host>.<random>.part``):
leftovers of killed processes are swept the next time the toolbox writes into that folder.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

# tempfile, socket and datetime are imported where used: this module is part of every `sct_x -h`

_PROTECTED_INPUTS: set[str] = set()


def _hostname() -> str:
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket
    return socket.gethostname()


_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", _hostname().split(".")[0]) or "host"
#: hidden leftovers of a writer: .part files, staging folders, backups of replaced files
_TAGGED = re.compile(r"^\..*\.sct(\d+)@([A-Za-z0-9_-]+)\.[^/]*(part|staging|bak)")
_SWEPT: set[str] = set()


class OutputError(ValueError):
    """Raised when an output cannot be written where asked (e.g. it would overwrite an input)."""


def register_input(path) -> str:
    """Mark ``path`` as an input of the running command: outputs may not overwrite it."""
    real = os.path.realpath(os.fspath(path))
    _PROTECTED_INPUTS.add(real)
    return os.fspath(path)


def is_registered_input(path) -> bool:
    return os.path.realpath(os.fspath(path)) in _PROTECTED_INPUTS


def clear_registered_inputs():
    _PROTECTED_INPUTS.clear()


def check_not_input(path):
    if os.path.realpath(os.fspath(path)) in _PROTECTED_INPUTS:
        raise OutputError(f"Refusing to overwrite the input file {path}: choose another output name")


def _tag() -> str:
    return f"sct{os.getpid()}@{_HOST}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(folder, min_age_s=2.0) -> list[str]:
    """Remove hidden ``.part`` files, staging folders and backups left by dead processes of this host."""
    removed = []
    try:
        entries = os.scandir(folder)
    except OSError:
        return removed
    now = time.time()
    with entries:
        for entry in entries:
            m = _TAGGED.match(entry.name)
            if not m or m.group(2) != _HOST or int(m.group(1)) == os.getpid():
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < min_age_s or _pid_alive(int(m.group(1))):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.remove(entry.path)
                removed.append(entry.path)
            except OSError:
                pass
    return removed


def staging_name_parts(name: str) -> tuple[str, str]:
    """(prefix, suffix) of a hidden staging folder for ``name`` that :func:`sweep_stale`
    removes once its process is dead (for ``tempfile.mkdtemp``)."""
    return f".{name}.{_tag()}.", ".staging"


def _sweep_once(folder: str):
    if folder not in _SWEPT:
        _SWEPT.add(folder)
        sweep_stale(folder)


# ------------------------------------------------------------------ transactions
class _Transaction:
    def __init__(self):
        self.created: list[str] = []
        self.backups: dict[str, str] = {}
        self.dirs: list[str] = []
        self.on_commit: list = []

    def makedirs(self, folder: str):
        missing = []
        f = os.path.abspath(folder)
        while f and not os.path.isdir(f):
            missing.append(f)
            parent = os.path.dirname(f)
            if parent == f:
                break
            f = parent
        os.makedirs(folder, exist_ok=True)
        self.dirs.extend(reversed(missing))

    def replace(self, tmp: str, path: str):
        """Move ``tmp`` onto ``path``, keeping what it replaces until the command succeeds."""
        path = os.path.abspath(path)
        if path in self.backups or path in self.created:
            os.replace(tmp, path)
            return
        if os.path.lexists(path) and not os.path.isdir(path):
            folder, name = os.path.split(path)
            backup = os.path.join(folder, f".{name}.{_tag()}.bak")
            try:
                os.link(path, backup)
            except OSError:
                shutil.copy2(path, backup)
            self.backups[path] = backup
        else:
            self.created.append(path)
        os.replace(tmp, path)

    def commit(self):
        for action in self.on_commit:
            action()
        for backup in self.backups.values():
            with contextlib.suppress(OSError):
                os.remove(backup)

    def rollback(self):
        for path in reversed(self.created):
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
        for path, backup in self.backups.items():
            with contextlib.suppress(OSError):
                os.replace(backup, path)
        for folder in reversed(self.dirs):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only when empty: never removes what others put there


_TXN: list[_Transaction] = []


@contextlib.contextmanager
def output_transaction():
    """All outputs written inside are kept only if the block ends normally (nested: outermost wins)."""
    if _TXN:
        yield _TXN[-1]
        return
    txn = _Transaction()
    _TXN.append(txn)
    ok = False
    try:
        yield txn
        ok = True
    except SystemExit as e:
        ok = e.code in (None, 0)
        raise
    finally:
        _TXN.pop()
        if ok:
            try:
                txn.commit()
            except BaseException:
                txn.rollback()
                raise
        else:
            txn.rollback()


def current_transaction():
    return _TXN[-1] if _TXN else None


def on_commit(action):
    """Run ``action()`` when the current command succeeds (right away outside a command)."""
    if _TXN:
        _TXN[-1].on_commit.append(action)
    else:
        action()


def record_created(path):
    """Declare a file or folder just created by other means: a failed command removes it."""
    if _TXN:
        _TXN[-1].created.append(os.path.abspath(os.fspath(path)))
    return path


def makedirs(folder):
    """``os.makedirs(exist_ok=True)`` that a failed command undoes (only folders it created, if empty)."""
    folder = os.fspath(folder)
    if _TXN:
        _TXN[-1].makedirs(folder)
    else:
        os.makedirs(folder, exist_ok=True)
    return folder


def check_writable_folder(folder, what="output folder"):
    """Refuse, before any work, an output folder that cannot be created or written."""
    folder = os.path.abspath(os.fspath(folder or "."))
    probe = folder
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if os.path.exists(probe) and not os.path.isdir(probe):
        raise OutputError(f"Cannot use {folder} as {what}: {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write to the {what} {folder}: permission denied")
    return folder


def _final_rename(tmp: str, path: str):
    umask = os.umask(0)
    os.umask(umask)
    # mkstemp creates 0600 files: give outputs the permissions a plain open() would
    os.chmod(tmp, 0o666 & ~umask)
    if _TXN:
        _TXN[-1].replace(tmp, path)
    else:
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path next to ``path``; rename it to ``path`` only on success."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path)) or "."
    try:
        makedirs(folder)
    except PermissionError:
        raise OutputError(f"Cannot create the output folder {folder}: permission denied") from None
    _sweep_once(folder)
    name = os.path.basename(path)
    # keep the extension so that writers choosing the format by name (nibabel: .nii.gz) work
    ext = "".join(Path(name).suffixes) or ""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.{_tag()}.", suffix=f".part{ext}", dir=folder)
    except PermissionError:
        raise OutputError(f"Cannot write {path}: permission denied") from None
    os.close(fd)
    try:
        yield tmp
        _final_rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text: str):
    check_not_input(path)
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


@contextlib.contextmanager
def staged_folder(dest):
    """Write a set of files into a hidden staging folder; move them all into ``dest`` at the end.

    Yields the staging folder (same relative layout as ``dest``). Only when the block ends
    normally are the files moved into place (one rename each, files replaced inside an
    output transaction are restored if the command fails later); otherwise the staging
    folder is removed. Leftovers of killed processes are swept by :func:`sweep_stale`.
    """
    dest = os.path.abspath(os.fspath(dest))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise OutputError(f"Cannot write into {dest}: it is a file, not a folder")
    parent = os.path.dirname(dest)
    makedirs(parent)
    _sweep_once(parent)
    import tempfile

    prefix, suffix = staging_name_parts(os.path.basename(dest))
    staging = tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent)
    try:
        yield staging
        files = []
        for root, _, names in os.walk(staging):
            for n in names:
                src = os.path.join(root, n)
                target = os.path.join(dest, os.path.relpath(src, staging))
                check_not_input(target)
                files.append((src, target))
        for src, target in files:
            makedirs(os.path.dirname(target))
            _final_rename(src, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def tmp_create(basename="sct") -> str:
    """Create a fresh temporary folder (under $SCT_TMPDIR or the system temp dir)."""
    import datetime
    import tempfile

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
