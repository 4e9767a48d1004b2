"""sct_run_batch end to end: sample BIDS dataset (3 subjects, sub-03's T2w truncated), a tiny per-subject
script computing real numbers from each subject's T2w, local pool and dask (a scheduler and two worker
processes started here, one killed during a subject)."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from spinalcordtoolbox.batch.sample_data import make_sample_dataset
from spinalcordtoolbox.scripts.sct_run_batch import main

REPO = Path(__file__).resolve().parents[2]

# Per subject: T2w shape, voxel count and mean intensity into results/<subject>.csv; the worker's pid
# (parent of sct_run_batch's wrapper, the script's parent) for the fault-tolerance test; a short
# sleep so that subjects overlap, then one line in <subject>.ends per attempt that ran to the end.
JOB = """#!/bin/bash
set -e
SUBJECT=$1
awk '{{print $4}}' /proc/$PPID/stat > "$PATH_RESULTS/$SUBJECT.pid"
"{python}" -c "
import sys, nibabel as nib
d = nib.load(sys.argv[1]).get_fdata()
open(sys.argv[2], 'w').write('%s,%s,%d,%.6f\\n' % (sys.argv[3], 'x'.join(map(str, d.shape)), d.size, d.mean()))
" "$PATH_DATA/$SUBJECT/anat/${{SUBJECT}}_T2w.nii.gz" "$PATH_RESULTS/$SUBJECT.csv" "$SUBJECT"
sleep {sleep}
echo end >> "$PATH_RESULTS/$SUBJECT.ends"
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, sct_testing_data):
    root = tmp_path_factory.mktemp("batch")
    make_sample_dataset(root / "data", 3, source=sct_testing_data, broken=["sub-03"])
    for name, sleep in (("job.sh", 0.2), ("slow_job.sh", 2)):
        (root / name).write_text(JOB.format(python=sys.executable, sleep=sleep))
    return root


@pytest.fixture(scope="module")
def expected(sct_testing_data):
    d = nib.load(sct_testing_data / "t2/t2.nii.gz").get_fdata()
    return lambda sub: f"{sub},{'x'.join(map(str, d.shape))},{d.size},{d.mean():.6f}\n"


def _run(argv):
    try:
        main(argv)
        return 0
    except SystemExit as e:
        return e.code


def _status(out):
    return {r["subject"]: r for r in json.loads((out / "batch_status.json").read_text())["subjects"]}


def _check_results(out, expected):
    assert sorted(p.name for p in (out / "results").glob("*.csv")) == ["sub-01.csv", "sub-02.csv"]
    for sub in ("sub-01", "sub-02"):
        assert (out / "results" / f"{sub}.csv").read_text() == expected(sub)
    logs = sorted(p.name for p in (out / "log").glob("*.log"))
    assert logs == ["err.sub-03.log", "sub-01.log", "sub-02.log"]
    assert "EOFError" in (out / "log/err.sub-03.log").read_text()
    st = _status(out)
    assert [st[s]["state"] for s in ("sub-01", "sub-02", "sub-03")] == ["done", "done", "failed"]
    assert st["sub-03"]["exit_code"] == 1 and st["sub-03"]["log"] == str(out / "log/err.sub-03.log")


def test_local_three_subjects_one_fails_then_resume(dataset, expected, capsys):
    out = dataset / "out_local"
    code = _run(["-script", str(dataset / "job.sh"), "-path-data", str(dataset / "data"),
                 "-path-output", str(out), "-jobs", "2"])
    assert code == 1
    _check_results(out, expected)
    stdout = capsys.readouterr().out
    assert "2 of 3 subject(s) done, 1 failed" in stdout and f"err.sub-03.log" in stdout
    log = (out / "log/sct_run_batch_log.txt").read_text()
    assert "# SCRIPT" in log and "git commit: ?!?" in log and "# SUMMARY" in log
    assert "PATH_SEGMANUAL=" + str(dataset / "data/derivatives/labels") in (out / "log/sub-01.log").read_text()
    first = _status(out)

    # fix sub-03, re-run with -resume: only sub-03 runs
    t2 = dataset / "data/sub-01/anat/sub-01_T2w.nii.gz"
    (dataset / "data/sub-03/anat/sub-03_T2w.nii.gz").write_bytes(t2.read_bytes())
    try:
        assert _run(["-script", str(dataset / "job.sh"), "-path-data", str(dataset / "data"),
                     "-path-output", str(out), "-jobs", "2", "-resume"]) == 0
    finally:
        (dataset / "data/sub-03/anat/sub-03_T2w.nii.gz").write_bytes(t2.read_bytes()[:2000])
    st = _status(out)
    assert st["sub-03"]["state"] == "done" and st["sub-03"]["exit_code"] == 0
    for sub in ("sub-01", "sub-02"):  # untouched: same start time as in the first run
        assert st[sub]["state"] == "done (earlier run)" and st[sub]["start"] == first[sub]["start"]
    assert (out / "results/sub-03.csv").read_text() == expected("sub-03")
    assert not (out / "log/err.sub-03.log").exists() and (out / "log/sub-03.log").exists()
    assert "3 of 3 subject(s) done, 0 failed (2 from an earlier run)" in capsys.readouterr().out
    # nothing left: no subject runs, no cluster is started
    assert _run(["-script", str(dataset / "job.sh"), "-path-data", str(dataset / "data"),
                 "-path-output", str(out), "-resume", "-backend", "dask"]) == 0
    assert "Processing 0 subject(s)" in capsys.readouterr().out
    assert _status(out)["sub-03"]["state"] == "done (earlier run)"


def test_continue_on_error_0_stops_scheduling(tmp_path, sct_testing_data, dataset):
    make_sample_dataset(tmp_path / "data", 3, source=sct_testing_data, broken=["sub-01"])
    out = tmp_path / "out"
    assert _run(["-script", str(dataset / "job.sh"), "-path-data", str(tmp_path / "data"),
                 "-path-output", str(out), "-jobs", "1", "-continue-on-error", "0", "-v", "0"]) == 1
    st = _status(out)
    assert [st[s]["state"] for s in ("sub-01", "sub-02", "sub-03")] == ["failed", "not run", "not run"]
    assert not list((out / "results").glob("*.csv"))


def test_course_config_yml(dataset, expected, monkeypatch):
    # the course's config.yml syntax, paths relative to the folder sct_run_batch is run from
    monkeypatch.chdir(dataset)
    (dataset / "config.yml").write_text(
        "# config file for sct_run_batch\npath_data: data\npath_output: out_config\nscript: job.sh\n"
        "jobs: 2\nexclude_list: [sub-02]\nzip: true\n")
    assert _run(["-config", "config.yml"]) == 1
    out = dataset / "out_config"
    assert sorted(_status(out)) == ["sub-01", "sub-03"]
    assert (out / "results/sub-01.csv").read_text() == expected("sub-01")
    assert (out / "log/err.sub-03.log").exists() and len(list(out.glob("out_config_*.zip"))) == 1
    assert "# CONFIG FILE" in (out / "log/sct_run_batch_log.txt").read_text()


def test_unknown_subject_filter_is_an_error(dataset, capsys):
    assert _run(["-script", str(dataset / "job.sh"), "-path-data", str(dataset / "data"),
                 "-path-output", str(dataset / "out_none"), "-include", "sub-9"]) == 1
    assert "No subject to process" in capsys.readouterr().err


# ------------------------------------------------------------------ dask
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dask_cluster():
    """A dask scheduler and two single-thread worker processes (no nanny: a killed worker stays dead)."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(REPO), DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs += [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--no-nanny",
                                "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    from distributed import Client
    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    yield address, procs[1:]
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=30)


def test_dask_two_workers_same_results_and_killed_worker(dataset, expected, dask_cluster):
    address, workers = dask_cluster
    out = dataset / "out_dask"
    assert _run(["-script", str(dataset / "job.sh"), "-path-data", str(dataset / "data"), "-path-output",
                 str(out), "-backend", "dask", "-scheduler", address]) == 1
    _check_results(out, expected)  # same files and numbers as the local run

    # kill the worker running sub-01 while its script sleeps: sub-01 is retried on the other worker
    out = dataset / "out_dask_kill"
    killed = []

    def killer():
        pid_file = out / "results/sub-01.pid"
        deadline = time.time() + 60
        while time.time() < deadline and not (pid_file.exists() and pid_file.read_text().strip()):
            time.sleep(0.05)
        pid = int(pid_file.read_text())
        assert pid in [w.pid for w in workers]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer)
    thread.start()
    code = _run(["-script", str(dataset / "slow_job.sh"), "-path-data", str(dataset / "data"), "-path-output",
                 str(out), "-backend", "dask", "-scheduler", address])
    thread.join()
    assert code == 1 and len(killed) == 1
    _check_results(out, expected)
    st = _status(out)
    assert st["sub-01"]["attempts"] == 2 and "attempt 2" in (out / "log/sub-01.log").read_text()
    assert int((out / "results/sub-01.pid").read_text()) != killed[0]  # ran to the end elsewhere
    # the killed attempt's script (and its sleep) died with its worker: one attempt reached the end
    time.sleep(1)
    assert (out / "results/sub-01.ends").read_text() == "end\n"


def test_dask_local_cluster(dataset, expected):
    out = dataset / "out_dask_local"
    assert _run(["-script", str(dataset / "job.sh"), "-path-data", str(dataset / "data"), "-path-output",
                 str(out), "-backend", "dask", "-jobs", "2", "-v", "0"]) == 1
    _check_results(out, expected)


def test_sessions_and_script_args(tmp_path):
    for d in ("sub-01/ses-01/anat", "sub-01/ses-02/anat", "sub-02/anat"):
        (tmp_path / "data" / d).mkdir(parents=True)
    (tmp_path / "job.sh").write_text('echo "$1|$2|$3|$ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS|$SCT_PROGRESS_BAR" '
                                     '> "$PATH_RESULTS/${1//\\//_}.txt"\n')
    out = tmp_path / "out"
    assert _run(["-script", str(tmp_path / "job.sh"), "-path-data", str(tmp_path / "data"), "-path-output",
                 str(out), "-script-args", "t2 'a b'", "-itk-threads", "3", "-exclude-list", "sub-02",
                 "-v", "0"]) == 0
    results = {p.name: p.read_text() for p in (out / "results").iterdir()}
    assert results == {"sub-01_ses-01.txt": "sub-01/ses-01|t2|a b|3|off\n",
                       "sub-01_ses-02.txt": "sub-01/ses-02|t2|a b|3|off\n"}
    assert sorted(p.name for p in (out / "log").glob("*.log")) == ["sub-01_ses-01.log", "sub-01_ses-02.log"]


def test_provenance_names_the_script_commit(tmp_path, dataset):
    repo = tmp_path / "analysis"
    repo.mkdir()
    (repo / "job.sh").write_text((dataset / "job.sh").read_text())
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for cmd in (["init", "-q"], ["remote", "add", "origin", "https://example.org/lab/analysis.git"],
                ["add", "job.sh"], ["commit", "-qm", "pipeline"]):
        subprocess.run(git + cmd, check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    out = tmp_path / "out"
    assert _run(["-script", str(repo / "job.sh"), "-path-data", str(dataset / "data"), "-path-output", str(out),
                 "-include-list", "sub-01", "-v", "0"]) == 0
    log = (out / "log/sct_run_batch_log.txt").read_text()
    script_block = log.split("# SCRIPT", 1)[1].split("# DATA", 1)[0]
    data_block = log.split("# DATA", 1)[1].split("# SYSTEM", 1)[0]
    assert f"git commit: {head}\n" in script_block and "origin: https://example.org/lab/analysis.git" in script_block
    assert "git commit: ?!?" in data_block and "git origin: ?!?" in data_block
