"""Start-up time of light commands (run by hand: python testing/benchmarks/bench_startup.py).

Reports the median wall time of several runs of ``sct_maths -h`` and
``sct_image -i t2.nii.gz -getorient`` (target: under 0.3 s each). When over target, find the
culprit with ``python -X importtime -c "import spinalcordtoolbox.scripts.sct_maths"``.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def timed(cmd, runs):
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=11, help="Runs per command (default 11)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.download import find_data

    t2 = find_data("sct_testing_data") / "t2" / "t2.nii.gz"
    commands = {"sct_maths -h": [str(BIN / "sct_maths"), "-h"],
                "sct_image -i t2.nii.gz -getorient": [str(BIN / "sct_image"), "-i", str(t2), "-getorient"],
                "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
                "python -c 'import numpy, nibabel' (floor)": [sys.executable, "-c", "import numpy, nibabel"]}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, cmd in commands.items():
        med, lo, hi = timed(cmd, args.n)
        flag = "" if name.startswith("python") or med < 0.3 else "  (over the 0.3 s target)"
        print(f"{name:<44} median {med:.3f} s  (min {lo:.3f}, max {hi:.3f}, n={args.n}){flag}")


if __name__ == "__main__":
    main()
