"""Benchmark: sct_register_to_template of the t2 subject to the full PAM50 (default -param).

Run by hand: ``python testing/benchmarks/bench_register_to_template.py [--small] [--repeat N]``.
Each run is a fresh process (start-up included); prints wall time and peak resident memory
(ru_maxrss of the child). Outputs go to a temporary folder that is removed afterwards.
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(data: Path, template: Path) -> tuple[float, float]:
    t2 = data / "t2"
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "spinalcordtoolbox.scripts.sct_register_to_template",
               "-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"),
               "-l", str(t2 / "labels.nii.gz"), "-t", str(template), "-c", "t2",
               "-ofolder", out, "-v", "0"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    from spinalcordtoolbox.download import find_data

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="Use the small test template instead")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    data = find_data("sct_testing_data")
    template = data / "template" if args.small else find_data("PAM50")
    print(f"template: {template}  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}  "
          f"cpus: {os.cpu_count()}")
    for i in range(args.repeat):
        wall, peak = run_once(data, template)
        print(f"run {i + 1}: wall {wall:.1f} s, peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
