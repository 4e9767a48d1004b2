"""Provenance block written at the top of ``sct_run_batch_log.txt``.

What a reader needs to reproduce a batch: toolbox version and where it is installed (and its git
commit for a checkout), the git commit and origin of the processing script and of the dataset when
they live in git repositories (``?!?`` when they do not, so an unversioned script is visible at a
glance), the machine (OS, CPU, RAM), the full command and the config file.
"""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

UNKNOWN = "?!?"


def _git(folder, *args) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def git_info(path) -> dict:
    """``commit`` (with ``-dirty`` when the work tree has changes), ``origin`` and ``root`` of
    the git repository holding ``path`` (file or folder); ``?!?`` for what is unknown."""
    path = Path(path).resolve()
    folder = path if path.is_dir() else path.parent
    root = _git(folder, "rev-parse", "--show-toplevel")
    if root is None:
        return {"commit": UNKNOWN, "origin": UNKNOWN, "root": UNKNOWN}
    commit = _git(folder, "rev-parse", "HEAD") or UNKNOWN
    if commit != UNKNOWN and _git(folder, "status", "--porcelain", "--untracked-files=no", "--", str(path)):
        commit += "-dirty"
    return {"commit": commit, "origin": _git(folder, "config", "--get", "remote.origin.url") or UNKNOWN,
            "root": root}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or UNKNOWN


def _ram_gb() -> str:
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024 ** 3:.1f} GB"
    except (ValueError, OSError, AttributeError):
        return UNKNOWN


def provenance_block(script, path_data, command_line, config_path=None, options=None) -> str:
    """The provenance text (lines starting with ``#`` headings)."""
    import spinalcordtoolbox

    toolbox = git_info(spinalcordtoolbox.PACKAGE_DIR)
    script_git, data_git = git_info(script), git_info(path_data)
    lines = [
        f"# DATE: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        "",
        "# TOOLBOX",
        f"version: {spinalcordtoolbox.__version__}",
        f"installed in: {spinalcordtoolbox.PACKAGE_DIR}",
        f"git commit: {toolbox['commit']}",
        "",
        "# SCRIPT",
        f"path: {Path(script).resolve()}",
        f"git commit: {script_git['commit']}",
        f"git origin: {script_git['origin']}",
        "",
        "# DATA",
        f"path: {Path(path_data).resolve()}",
        f"git commit: {data_git['commit']}",
        f"git origin: {data_git['origin']}",
        "",
        "# SYSTEM",
        f"OS: {platform.platform()}",
        f"Python: {sys.version.split()[0]}",
        f"host: {platform.node()}",
        f"CPU: {_cpu_name()}, {os.cpu_count()} cores",
        f"RAM: {_ram_gb()}",
        "",
        "# COMMAND",
        command_line,
    ]
    if options:
        lines += ["", "# OPTIONS (command line > config file > defaults)"]
        lines += [f"{k}: {v}" for k, v in sorted(options.items())]
    if config_path:
        lines += ["", f"# CONFIG FILE: {Path(config_path).resolve()}"]
        try:
            lines += Path(config_path).read_text(encoding="utf-8").rstrip().splitlines()
        except OSError as e:
            lines.append(f"(unreadable: {e})")
    return "\n".join(lines) + "\n"
