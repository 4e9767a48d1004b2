"""run_batch: the body of sct_run_batch.

Schedules one :func:`~spinalcordtoolbox.batch.job.run_subject` per subject on a backend, keeps at
most the backend's capacity in flight (so ``-continue-on-error 0`` stops scheduling new subjects
at the first failure), retries once a subject whose worker was lost, records every state change
in ``batch_status.json`` (atomic rewrite), prints live progress with an ETA, and ends with a
summary; everything printed also goes to ``log/sct_run_batch_log.txt`` after its provenance block.
"""
from __future__ import annotations

import datetime
import json
import logging
import shlex
import sys
import time
from collections import deque
from pathlib import Path

from spinalcordtoolbox.batch import backends, discovery, job as jobmod, provenance
from spinalcordtoolbox.utils.cli import SCTError
from spinalcordtoolbox.utils.fs import atomic_write_text

logger = logging.getLogger(__name__)

STATUS_NAME = "batch_status.json"
MAX_ATTEMPTS = 2  # a subject whose worker died is run once more, then marked failed
HEARTBEAT_S = 60  # with no subject finishing for this long, say which ones are running
#: states in batch_status.json
PENDING, RUNNING, DONE, FAILED, NOT_RUN, RESUMED = "pending", "running", "done", "failed", "not run", "done (earlier run)"


def _now():
    return datetime.datetime.now().isoformat(timespec="seconds")


def _fmt_s(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class _Printer:
    """Prints to the terminal (unless -v 0) and appends to the batch log."""

    def __init__(self, log_path, verbose):
        self.log_path, self.verbose = Path(log_path), verbose

    def __call__(self, text="", always=False):
        if self.verbose > 0 or always:
            print(text, flush=True)
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(text + "\n")


class Status:
    """``batch_status.json``: one row per subject (state, start, end, exit code, log path, …)."""

    def __init__(self, path, info):
        self.path, self.info, self.subjects, self.dirty = Path(path), info, {}, True

    @staticmethod
    def previous(path) -> dict:
        """Subjects of an earlier run in this output folder, by name (empty if none / unreadable)."""
        try:
            rows = json.loads(Path(path).read_text(encoding="utf-8"))["subjects"]
            return {r["subject"]: r for r in rows}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def set(self, subject, **fields):
        self.subjects.setdefault(subject, {"subject": subject}).update(fields)
        self.dirty = True

    def counts(self) -> dict:
        out = {}
        for row in self.subjects.values():
            out[row["state"]] = out.get(row["state"], 0) + 1
        return out

    def write(self, **extra):
        if not (self.dirty or extra):
            return
        self.dirty = False
        self.info.update(extra)
        payload = dict(self.info, counts=self.counts(), subjects=list(self.subjects.values()))
        atomic_write_text(self.path, json.dumps(payload, indent=1))


def _rebuild_qc(path_qc):
    """Index of the QC report from all records (the script's commands each add their own)."""
    from spinalcordtoolbox.reports import records
    if any(Path(path_qc).rglob(records.RECORD_NAME)):
        return records.rebuild_index(path_qc)
    return None


def _zip_outputs(path_output) -> Path:
    import shutil
    stamp = datetime.datetime.now().strftime("%Y%m%d_%H%M%S")
    base = Path(path_output) / f"{Path(path_output).resolve().name}_{stamp}"
    tmp_root = Path(path_output) / f".zip_{stamp}"
    for sub in ("results", "log", "qc"):
        if (Path(path_output) / sub).is_dir():
            shutil.copytree(Path(path_output) / sub, tmp_root / sub)
    try:
        return Path(shutil.make_archive(str(base), "zip", root_dir=tmp_root))
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def run_batch(script, path_data, path_output="./output", *, jobs=1, itk_threads=1, script_args="",
              subject_prefix="sub-", include=None, include_list=None, exclude=None, exclude_list=None,
              path_segmanual=None, continue_on_error=True, ignore_ses=False, zip_outputs=False,
              resume=False, backend="local", scheduler=None, slurm=None, batch_log="sct_run_batch_log.txt",
              config_path=None, command_line=None, options=None, verbose=1) -> dict:
    """Run ``script`` on every subject of ``path_data``; returns the status dict (also in
    ``<path_output>/batch_status.json``) with a ``failed`` list. Raises SCTError on bad input."""
    script = Path(script).expanduser().resolve()
    if not script.is_file():
        raise SCTError(f"Script not found: {script}")
    path_data = Path(path_data).expanduser().resolve()
    path_output = Path(path_output).expanduser().resolve()
    path_segmanual = (Path(path_segmanual).expanduser().resolve() if path_segmanual
                      else path_data / "derivatives" / "labels")
    subjects = discovery.filter_subjects(discovery.find_subjects(path_data, subject_prefix, ignore_ses),
                                         include, include_list, exclude, exclude_list)
    if not subjects:
        raise SCTError(f"No subject to process in {path_data} (prefix '{subject_prefix}', after include/exclude)")
    env = jobmod.script_env(path_data, path_output, path_segmanual, itk_threads)
    for key in jobmod.FOLDERS:
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    path_log, path_qc = Path(env["PATH_LOG"]), Path(env["PATH_QC"])
    log_path = path_log / batch_log
    if log_path.exists() and not resume:
        log_path.unlink()
    say = _Printer(log_path, verbose)
    command_line = command_line or " ".join(shlex.quote(a) for a in sys.argv)
    say(provenance.provenance_block(script, path_data, command_line, config_path, options))

    status_path = path_output / STATUS_NAME
    previous = Status.previous(status_path) if resume else {}
    if resume and not previous:
        say(f"-resume: no readable {STATUS_NAME} in {path_output}: every subject is run")
    status = Status(status_path, {"script": str(script), "path_data": str(path_data),
                                  "path_output": str(path_output), "backend": backend,
                                  "command": command_line, "started": _now(), "finished": None})
    todo = deque()
    for s in subjects:
        prev = previous.get(s)
        if prev and prev.get("state") in (DONE, RESUMED) and prev.get("exit_code") == 0:
            status.set(s, **{k: prev.get(k) for k in ("start", "end", "exit_code", "log", "host", "attempts")},
                       state=RESUMED)
        else:
            status.set(s, state=PENDING, start=None, end=None, exit_code=None,
                       log=str(path_log / jobmod.log_name(s)), attempts=0)
            todo.append(s)
    status.write()

    # nothing left to run (-resume after a complete run): no cluster, no SLURM job
    runner = (backends.make_backend(backend, jobs, len(todo), scheduler=scheduler, slurm=slurm) if todo
              else backends.LocalBackend(1))
    n_resumed = len(subjects) - len(todo)
    say(f"\nProcessing {len(todo)} subject(s) with {runner.describe()}"
        + (f" ({n_resumed} already done in an earlier run: skipped)" if n_resumed else "") + ".")
    if getattr(runner, "job_script", None):
        say("SLURM job script:\n" + runner.job_script)
    say(f"Logs: {path_log}\n")

    t_start = time.monotonic()
    in_flight, stop, n_finished = {}, False, 0
    started_at, last_line = {}, time.monotonic()
    total = len(todo)

    def submit(subject):
        attempt = status.subjects[subject]["attempts"] + 1
        job = {"subject": subject, "script": str(script), "script_args": script_args, "env": env,
               "attempt": attempt, "cwd": str(path_output)}
        key = f"sct_run_batch-{subject.replace('/', '_')}-{attempt}-{time.time_ns()}"
        in_flight[runner.submit(jobmod.run_subject, job, key)] = subject
        started_at[subject] = time.monotonic()
        status.set(subject, state=RUNNING, attempts=attempt, start=_now())

    try:
        while todo or in_flight:
            while todo and not stop and len(in_flight) < runner.capacity():
                submit(todo.popleft())
            status.write()
            if not in_flight:
                break
            if time.monotonic() - last_line > HEARTBEAT_S:
                last_line = time.monotonic()
                running = ", ".join(f"{s} ({_fmt_s(last_line - started_at[s])})" for s in in_flight.values())
                say(f"[{n_finished}/{total}] running: {running}")
            for fut in runner.wait(in_flight, timeout=1.0):
                last_line = time.monotonic()
                subject = in_flight.pop(fut)
                exc = fut.exception()
                if exc is not None:
                    attempts = status.subjects[subject]["attempts"]
                    lost = runner.is_lost_worker(exc)
                    if lost and attempts < MAX_ATTEMPTS:
                        say(f"  {subject}: worker lost ({type(exc).__name__}): retrying on another worker")
                        todo.appendleft(subject)
                        continue
                    result = {"exit_code": None, "end": _now(), "error": f"{type(exc).__name__}: {exc}"}
                    msg = f"{'worker lost' if lost else 'error'} ({result['error'].splitlines()[0]})"
                else:
                    result = fut.result()
                    msg = f"exit code {result['exit_code']}, {result['duration_s']:.0f} s"
                ok = result.get("exit_code") == 0
                status.set(subject, state=DONE if ok else FAILED,
                           **{k: v for k, v in result.items() if k != "subject"})
                n_finished += 1
                elapsed = time.monotonic() - t_start
                eta = elapsed / n_finished * (total - n_finished)
                n_failed = status.counts().get(FAILED, 0)
                say(f"[{n_finished}/{total}] {subject}: {'done' if ok else 'FAILED'} ({msg})"
                    f"{f' · {n_failed} failed' if n_failed else ''}"
                    f"{f' · ETA {_fmt_s(eta)}' if n_finished < total else ''}")
                if not ok and not continue_on_error and not stop:
                    stop = True
                    say(f"-continue-on-error 0: {subject} failed, no new subject is started "
                        f"({len(in_flight)} running finish first)")
    except KeyboardInterrupt:
        runner.interrupt()
        for s in list(in_flight.values()) + list(todo):
            status.set(s, state=NOT_RUN)
        status.write(finished=_now(), interrupted=True)
        raise
    finally:
        runner.close()
    for s in todo:
        status.set(s, state=NOT_RUN)
    wall = time.monotonic() - t_start
    index = _rebuild_qc(path_qc)
    zipped = _zip_outputs(path_output) if zip_outputs else None
    status.write(finished=_now(), wall_s=round(wall, 1), qc_index=str(index) if index else None)

    rows = status.subjects.values()
    failed = [r for r in rows if r["state"] == FAILED]
    not_run = [r["subject"] for r in rows if r["state"] == NOT_RUN]
    n_done = sum(r["state"] in (DONE, RESUMED) for r in rows)
    say("\n# SUMMARY")
    say(f"{n_done} of {len(subjects)} subject(s) done, {len(failed)} failed"
        + (f", {len(not_run)} not run" if not_run else "")
        + (f" ({n_resumed} from an earlier run)" if n_resumed else "")
        + f"; wall time {_fmt_s(wall)}.", always=bool(failed))
    for r in failed:
        say(f"  FAILED {r['subject']}: {r.get('error') or 'exit code ' + str(r['exit_code'])} -> {r['log']}",
            always=True)
    if not_run:
        say(f"  not run: {', '.join(not_run)}", always=True)
    say(f"Results: {env['PATH_RESULTS']}")
    say(f"QC report: {index}" if index else f"QC report: none (the script wrote no QC entry in {path_qc})")
    say(f"Logs: {path_log} (batch log: {log_path.name}; status: {status_path})")
    if zipped:
        say(f"Zipped results, logs and QC: {zipped}")
    if failed:
        say(f"Fix the failures, then re-run the same command with -resume to process only them.")
    return dict(status.info, subjects=list(rows), failed=[r["subject"] for r in failed], not_run=not_run)
