"""Start-up time of light commands (run by hand: python testing/benchmarks/bench_startup.py).

Reports the median wall time of several runs of ``sct_maths -h``,
``sct_image -i t2.nii.gz -getorient`` (target: under 0.3 s each) and of the light commands of
issue 14 (``-h`` and a real run on sct_testing_data each: sct_create_mask, sct_get_centerline,
sct_resample, sct_qc, sct_analyze_lesion), beside the interpreter and the numpy + nibabel import
every command needs. When over target, find the culprit with
``python -X importtime -m spinalcordtoolbox.scripts.sct_x <args> 2>&1 >/dev/null | sort -t'|' -k2 -n``.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def timed(cmd, runs, trees=(None,)):
    """Median, min, max wall time of ``cmd`` per source tree (None: this checkout). Runs alternate
    between the trees, so that a busy machine weighs on each alike."""
    envs = [dict(os.environ, PYTHONPATH=str(t or REPO)) for t in trees]
    for env in envs:
        subprocess.run(cmd, capture_output=True, check=True, env=env)  # warm the file cache
    times = [[] for _ in envs]
    for _ in range(runs):
        for env, t in zip(envs, times):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env=env)
            t.append(time.perf_counter() - t0)
    return [(statistics.median(t), min(t), max(t)) for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=11, help="Runs per command (default 11)")
    parser.add_argument("-k", default="", help="Only the commands whose name contains this text")
    parser.add_argument("-before", metavar="<folder>",
                        help="Another source tree (e.g. 'git archive <commit> | tar -x -C /tmp/before'): "
                             "each command runs alternately with it and with this checkout")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.download import find_data

    t2 = find_data("sct_testing_data") / "t2" / "t2.nii.gz"
    t2_dir = t2.parent
    light = {
        "sct_create_mask": ["-i", str(t2), "-p", "center", "-o", "mask.nii.gz"],
        "sct_get_centerline": ["-i", str(t2_dir / "t2_seg-manual.nii.gz"), "-method", "fitseg",
                               "-o", "centerline.nii.gz"],
        "sct_resample": ["-i", str(t2), "-mm", "2", "-o", "t2_r.nii.gz"],
        "sct_qc": ["-i", str(t2), "-s", str(t2_dir / "t2_seg-manual.nii.gz"), "-p", "sct_deepseg_sc",
                   "-qc", "qc"],
        "sct_analyze_lesion": ["-m", str(t2_dir / "t2_fake_lesion_lesion_seg.nii.gz"),
                               "-s", str(t2_dir / "t2_fake_lesion_sc_seg.nii.gz"), "-ofolder", "lesion"],
    }
    commands = {"sct_maths -h": [str(BIN / "sct_maths"), "-h"],
                "sct_image -i t2.nii.gz -getorient": [str(BIN / "sct_image"), "-i", str(t2), "-getorient"]}
    for cmd, argv in light.items():
        commands[f"{cmd} -h"] = [str(BIN / cmd), "-h"]
        commands[f"{cmd} (t2 run)"] = [str(BIN / cmd), *argv]
    commands.update({"python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
                     "python -c 'import numpy, nibabel' (floor)":
                         [sys.executable, "-c", "import numpy, nibabel"]})
    os.chdir(tempfile.mkdtemp(prefix="bench_startup_"))  # the runs' outputs
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, cmd in commands.items():
        if args.k not in name:
            continue
        if args.before:
            (b, b_lo, b_hi), (a, a_lo, a_hi) = timed(cmd, args.n, (args.before, None))
            print(f"{name:<44} before {b:.3f} s ({b_lo:.3f}-{b_hi:.3f})  after {a:.3f} s "
                  f"({a_lo:.3f}-{a_hi:.3f})  n={args.n}")
            continue
        [(med, lo, hi)] = timed(cmd, args.n)
        flag = "" if name.startswith("python") or "run)" in name or med < 0.3 else "  (over the 0.3 s target)"
        print(f"{name:<44} median {med:.3f} s  (min {lo:.3f}, max {hi:.3f}, n={args.n}){flag}")


if __name__ == "__main__":
    main()
