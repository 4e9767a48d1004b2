"""Benchmark of sct_run_batch (run by hand, not collected by pytest): subjects per minute.

    PYTHONPATH=. .venv/bin/python testing/benchmarks/bench_run_batch.py [n_subjects]

A sample BIDS dataset of ``n_subjects`` (default 6) copies of the test subject, run with -jobs 1,
-jobs 2 (local pool) and -backend dask -jobs 2 (LocalCluster, 2 single-thread workers):

1. scheduling: a 2-second sleep per subject (no CPU), so the figures show the engine's overhead
   and its parallelism independently of the machine's load (ideal: n*2 s, then n s);
2. a real, short job per subject: sct_propseg on the MT-on image (40x40x5) and
   sct_process_segmentation of the result; checks every subject succeeded with the same CSA.

Prints wall time and subjects/minute of each. Run it when the machine is otherwise idle.
"""
import csv
import shutil
import sys
import tempfile
import time
from pathlib import Path

from spinalcordtoolbox.batch.sample_data import make_sample_dataset
from spinalcordtoolbox.batch.runner import run_batch

SLEEP_JOB = """#!/bin/bash
sleep 2
echo "$1" > "$PATH_RESULTS/$1.txt"
"""

JOB = """#!/bin/bash
set -euo pipefail
SUBJECT=$1
mkdir -p "$PATH_DATA_PROCESSED/$SUBJECT" && cd "$PATH_DATA_PROCESSED/$SUBJECT"
sct_propseg -i "$PATH_DATA/$SUBJECT/anat/${SUBJECT}_acq-MTon_MTS.nii.gz" -c t2 -o mt1_seg.nii.gz -v 0
sct_process_segmentation -i mt1_seg.nii.gz -o "$PATH_RESULTS/csa_$SUBJECT.csv" -v 0
"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    root = Path(tempfile.mkdtemp(prefix="bench_run_batch_"))
    try:
        make_sample_dataset(root / "data", n)
        (root / "job.sh").write_text(JOB)
        (root / "sleep.sh").write_text(SLEEP_JOB)
        print(f"{n} subjects, per subject: sleep 2 s")
        for label, kw in (("local -jobs 1", dict(jobs=1)), ("local -jobs 2", dict(jobs=2)),
                          ("dask, 2 workers (LocalCluster)", dict(jobs=2, backend="dask"))):
            t0 = time.perf_counter()
            status = run_batch(root / "sleep.sh", root / "data", root / "sleep_out", verbose=0, **kw)
            wall = time.perf_counter() - t0
            assert not status["failed"] and len(list((root / "sleep_out/results").glob("*.txt"))) == n
            shutil.rmtree(root / "sleep_out")
            print(f"{label:32s} {wall:6.1f} s  {n / wall * 60:5.1f} subjects/min")
        print(f"{n} subjects, per subject: sct_propseg (MT-on, 40x40x5) + sct_process_segmentation")
        areas = {}
        for label, kw in (("local -jobs 1", dict(jobs=1)), ("local -jobs 2", dict(jobs=2)),
                          ("dask, 2 workers (LocalCluster)", dict(jobs=2, backend="dask"))):
            out = root / label.split(",")[0].replace(" ", "_")
            t0 = time.perf_counter()
            status = run_batch(root / "job.sh", root / "data", out, verbose=0, **kw)
            wall = time.perf_counter() - t0
            assert not status["failed"], status["failed"]
            values = {p.name: next(csv.DictReader(p.open()))["MEAN(area)"] for p in (out / "results").glob("*.csv")}
            assert len(values) == n and len(set(values.values())) == 1
            areas[label] = values
            print(f"{label:32s} {wall:6.1f} s  {n / wall * 60:5.1f} subjects/min")
        assert len({tuple(sorted(v.items())) for v in areas.values()}) == 1, "backends disagree"
        print(f"CSA (identical across backends and subjects): {next(iter(areas['local -jobs 1'].values()))} mm2")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
