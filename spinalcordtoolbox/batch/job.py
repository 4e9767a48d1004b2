"""One unit of work: ``bash <script> <subject> <script args>`` with the batch's environment.

:func:`run_subject` is a plain, picklable function of a dict, so every backend (local pool, dask
worker, SLURM job) runs exactly the same code. It never raises for a failing script: the script's
exit code is the result. Its log is written under ``PATH_LOG`` and renamed with the ``err.``
prefix when the script fails.
"""
from __future__ import annotations

import datetime
import os
import platform
import shlex
import signal
import subprocess
import time
from pathlib import Path

#: env variables exported to the script, and the output sub-folders they point to
FOLDERS = {"PATH_DATA_PROCESSED": "data_processed", "PATH_RESULTS": "results",
           "PATH_LOG": "log", "PATH_QC": "qc"}


def log_name(subject: str) -> str:
    """``sub-01/ses-02`` -> ``sub-01_ses-02.log``."""
    return subject.replace("/", "_") + ".log"


def script_env(path_data, path_output, path_segmanual, itk_threads) -> dict:
    """The variables exported to every run of the script."""
    env = {"PATH_DATA": str(path_data), "PATH_SEGMANUAL": str(path_segmanual),
           "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": str(itk_threads), "SCT_PROGRESS_BAR": "off"}
    env.update({k: str(Path(path_output) / sub) for k, sub in FOLDERS.items()})
    return env


#: The script runs under a small bash wrapper, leader of its own process group: on SIGTERM it
#: terminates the whole group (the script and the sct_* command it is running), so stopping one
#: subject stops everything it started.
WRAPPER = 'trap "trap - TERM; kill -TERM 0" TERM; bash "$0" "$@" & wait $!'

#: scripts running in this process (local backend), by pid = process group id
_RUNNING: dict[int, subprocess.Popen] = {}


def _libc():
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True)
    except (OSError, AttributeError):
        return None


def _term_with_parent_fn():
    """A preexec function asking Linux to send SIGTERM to the wrapper when its parent dies: a
    killed worker must not leave its subject's commands running (they would race the retry).
    libc is loaded here, in the parent, so the forked child makes one C call (no import, no lock)."""
    prctl = getattr(_libc(), "prctl", None)
    if prctl is None:
        return None
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


def terminate_running():
    """Stop every script started by this process, with all the commands they run (Ctrl-C)."""
    for pid in list(_RUNNING):
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass


def run_subject(job: dict) -> dict:
    """Run the script for ``job["subject"]``; returns exit code, start/end (ISO), log path, host.

    ``job`` holds ``subject``, ``script``, ``script_args``, ``env`` (see :func:`script_env`) and
    ``attempt`` (1, or 2 for a retry after a lost worker).
    """
    subject, env_vars = job["subject"], job["env"]
    log_dir = Path(env_vars["PATH_LOG"])
    log_dir.mkdir(parents=True, exist_ok=True)
    log, err_log = log_dir / log_name(subject), log_dir / ("err." + log_name(subject))
    if err_log.exists():
        err_log.unlink()  # a re-run replaces the previous failure's log
    cmd = ["bash", job["script"], subject] + shlex.split(job.get("script_args") or "")
    env = dict(os.environ, **env_vars)
    start, t0 = datetime.datetime.now(), time.monotonic()
    try:
        with open(log, "w", encoding="utf-8") as f:
            f.write(f"# {subject}: {' '.join(shlex.quote(c) for c in cmd)}\n"
                    f"# host {platform.node()}, attempt {job.get('attempt', 1)}, "
                    f"started {start.isoformat(timespec='seconds')}\n")
            f.writelines(f"# {k}={v}\n" for k, v in sorted(env_vars.items()))
            f.write("\n")
            f.flush()
            proc = subprocess.Popen(["bash", "-c", WRAPPER] + cmd[1:], stdout=f, stderr=subprocess.STDOUT,
                                    env=env, cwd=job.get("cwd"), stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=_term_with_parent_fn())
            _RUNNING[proc.pid] = proc
            try:
                code = proc.wait()
            finally:
                _RUNNING.pop(proc.pid, None)
            f.write(f"\n# exit code {code} after {time.monotonic() - t0:.1f} s\n")
    except OSError as e:  # log folder unwritable, bash missing…: a failure of this subject
        code = 127
        try:
            with open(log, "a", encoding="utf-8") as f:
                f.write(f"\n# could not run the script: {e}\n")
        except OSError:
            pass
    if code != 0 and log.exists():
        os.replace(log, err_log)
        log = err_log
    return {"subject": subject, "exit_code": code, "start": start.isoformat(timespec="seconds"),
            "end": datetime.datetime.now().isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - t0, 2), "log": str(log), "host": platform.node()}
