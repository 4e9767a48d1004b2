"""Peak memory and wall time of the commands named in the hardening issue (run by hand).

    python testing/benchmarks/bench_hardening.py                 # this checkout
    python testing/benchmarks/bench_hardening.py --code /work/main  # another checkout (before)

Each command runs in its own process (peak resident memory from the kernel's accounting of
that process, in MiB) on sct_testing_data; templates and models come from the shared data
(``$SCT_DATA_MIRROR``, installed into a throw-away data folder once, before timing).
Wall times depend on the machine's load: the load average is printed with them.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

_MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
wall = time.perf_counter() - t
if r.returncode:
    sys.exit("FAILED: " + " ".join(sys.argv[1:]) + "\\n" + r.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, wall)
"""


def measure(cmd, env, runs):
    peaks, walls = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _MEASURE] + cmd, env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        peaks.append(float(out[0]))
        walls.append(float(out[1]))
    return max(peaks), statistics.median(walls)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", default=str(REPO), help="Checkout to measure (default: this one)")
    parser.add_argument("-n", type=int, default=3, help="Runs per command (default 3)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.download import SHARED_DATA, find_data

    data = find_data("sct_testing_data")
    work = Path(tempfile.mkdtemp(prefix="bench_hardening_"))
    env = dict(os.environ, PYTHONPATH=args.code, SCT_DATA_DIR=str(work / "data"))
    env.setdefault("SCT_DATA_MIRROR", str(SHARED_DATA))
    t2, seg = data / "t2/t2.nii.gz", data / "t2/t2_seg-manual.nii.gz"
    sct = lambda name: str(BIN / name)  # noqa: E731
    commands = {
        "sct_check_dependencies": [sct("sct_check_dependencies")],
        "sct_resample -mm 1": [sct("sct_resample"), "-i", str(t2), "-mm", "1", "-o", str(work / "r.nii.gz")],
        "sct_process_segmentation -normalize-PAM50 1": [
            sct("sct_process_segmentation"), "-i", str(seg), "-vertfile",
            str(data / "t2/t2_seg-manual_labeled.nii.gz"), "-normalize-PAM50", "1", "-o", str(work / "csa.csv")],
        "sct_qc (segmentation entry)": [sct("sct_qc"), "-i", str(t2), "-s", str(seg), "-p", "sct_deepseg_sc",
                                        "-qc", str(work / "qc")],
        "sct_create_mask": [sct("sct_create_mask"), "-i", str(t2), "-p", "center", "-o", str(work / "m.nii.gz")],
        "sct_get_centerline -method fitseg": [sct("sct_get_centerline"), "-i", str(seg), "-method", "fitseg",
                                              "-o", str(work / "c.nii.gz")],
        "sct_analyze_lesion": [sct("sct_analyze_lesion"), "-m", str(data / "t2/t2_fake_lesion_lesion_seg.nii.gz"),
                               "-s", str(data / "t2/t2_fake_lesion_sc_seg.nii.gz"), "-ofolder", str(work / "al")],
        "sct_deepseg_gm (t2s)": [sct("sct_deepseg_gm"), "-i", str(data / "t2s/t2s.nii.gz"),
                                 "-o", str(work / "gm.nii.gz")],
    }
    # install the template and models once, so that no measurement includes a copy
    for name in ("sct_process_segmentation -normalize-PAM50 1", "sct_deepseg_gm (t2s)"):
        subprocess.run(commands[name], env=env, capture_output=True)
    print(f"code: {args.code}   load average: {os.getloadavg()[0]:.2f}   runs: {args.n}")
    print(f"{'command':<46}{'peak MiB':>10}{'wall s':>10}")
    try:
        for name, cmd in commands.items():
            peak, wall = measure(cmd, env, args.n)
            print(f"{name:<46}{peak:>10.0f}{wall:>10.2f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
