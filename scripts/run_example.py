"""Example analysis of the test subject: the README's main job.

The course's multi-subject workflow on a one-subject BIDS dataset built from sct_testing_data:
``sct_run_batch`` runs ``scripts/process_data.sh`` (cord segmentation, vertebral levels from the
manual labels + template registration, cord CSA per level in C2-C3, gray matter on T2*, MT-off
registered onto MT-on, and MTR steps when their commands are installed), with every step feeding
one HTML QC report. Everything goes into ./example_output (or the folder given as first argument):
``data/`` (the BIDS dataset), ``config.yml`` (the course's config file) and ``output/``.
"""
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


def run(cmd: str):
    print(f"\n$ {cmd}", flush=True)
    exe, *rest = shlex.split(cmd)
    subprocess.run([str(BIN / exe)] + rest, check=True)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "example_output").resolve()
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.batch.sample_data import make_sample_dataset
    from spinalcordtoolbox.download import MIRROR_ENV, SHARED_DATA, DownloadError, find_data

    # Offline machines: serve templates and models from the data folder beside the checkout.
    if not os.environ.get(MIRROR_ENV) and SHARED_DATA.is_dir():
        os.environ[MIRROR_ENV] = str(SHARED_DATA)
    try:
        source = find_data("sct_testing_data")
    except DownloadError as e:  # first run without data or network: one line, what to do
        sys.stderr.write(f"ERROR: {e}\n")
        sys.exit(1)
    out.mkdir(parents=True, exist_ok=True)
    # the toolbox's commands must be found by the processing script
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    start = time.time()
    os.chdir(out)
    if not (out / "data" / "dataset_description.json").exists():
        make_sample_dataset(out / "data", n_subjects=1, source=source)
        print(f"Sample BIDS dataset (sub-01 = sct_testing_data) written to {out / 'data'}")
    (out / "config.yml").write_text(
        "# sct_run_batch options (keys = flag names), as in the course\n"
        "path_data: data\n"
        "path_output: output\n"
        f"script: {REPO / 'scripts' / 'process_data.sh'}\n"
        "jobs: 2\n"
        "itk_threads: 1\n")

    run("sct_check_dependencies -short")
    run("sct_run_batch -config config.yml")

    results = out / "output" / "results"
    print(f"\nExample analysis finished in {time.time() - start:.0f} s.")
    print(f"Results (one CSV per metric, one row per subject and level) in {results}:")
    for csv in sorted(results.glob("*.csv")):
        print(f"  {csv.name}")
    print(f"Per-subject logs: {out / 'output' / 'log'}")
    print(f"\nTo review every step, open the QC report in a browser:\n  file://{out / 'output' / 'qc' / 'index.html'}\n")


if __name__ == "__main__":
    main()
