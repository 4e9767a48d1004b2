"""Benchmark (run by hand): wall time and peak memory of the pretrained-network commands.

    .venv/bin/python testing/benchmarks/bench_pretrained.py [--threads N] [--device cpu|cuda]

Each case runs in a fresh process (start-up, weight loading and first-call costs included,
as a user's script sees them); peak memory is that child's maximum resident set size.
Weights come through the downloader from $SCT_DATA_MIRROR (default: ../shared/data).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def cases(data: Path):
    t2, t2s = data / "t2" / "t2.nii.gz", data / "t2s" / "t2s.nii.gz"
    return [
        ("gm large t2s (9 sl.)", ["sct_deepseg_gm", "-i", t2s, "-m", "large"]),
        ("gm challenge t2s", ["sct_deepseg_gm", "-i", t2s, "-m", "challenge"]),
        ("gm large t2s_uncropped (11 sl.)", ["sct_deepseg_gm", "-i", data / "t2s" / "t2s_uncropped.nii.gz"]),
        ("gm large mt1 (5 sl.)", ["sct_deepseg_gm", "-i", data / "mt" / "mt1.nii.gz"]),
        ("sc t2 centerline", ["sct_deepseg_sc", "-i", t2, "-c", "t2", "-centerline-only"]),
        ("sc t2s centerline", ["sct_deepseg_sc", "-i", t2s, "-c", "t2s", "-centerline-only"]),
        ("sc dwi centerline", ["sct_deepseg_sc", "-i", data / "dmri" / "dwi_mean.nii.gz", "-c", "dwi",
                               "-centerline-only"]),
        ("lesion t2_ax t2 (cnn ctr)", ["sct_deepseg_lesion", "-i", t2, "-c", "t2_ax"]),
        ("lesion t2_ax t2_fake_lesion", ["sct_deepseg_lesion", "-i", data / "t2" / "t2_fake_lesion.nii.gz",
                                         "-c", "t2_ax"]),
        ("lesion t2s t2s (cnn ctr)", ["sct_deepseg_lesion", "-i", t2s, "-c", "t2s"]),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.download import SHARED_DATA, find_data

    data = find_data("sct_testing_data")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
                   SCT_DATA_DIR=str(Path(tmp) / "cache"))
        env.setdefault("SCT_DATA_MIRROR", str(SHARED_DATA))
        print(f"{'case':36}{'wall [s]':>10}{'peak RSS [MiB]':>16}"
              f"   (threads={args.threads}, device={args.device})")
        for name, argv in cases(data):
            argv = argv + ["-device", args.device]
            # a wrapper process per case, so that its children's peak RSS is this case's alone
            wrapper = ("import resource, subprocess, sys; "
                       "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
                       "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
                       "sys.exit(r.returncode)")
            start = time.perf_counter()
            command = [str(BIN / argv[0])] + [str(a) for a in argv[1:]] + ["-v", "0"]
            proc = subprocess.run([sys.executable, "-c", wrapper] + command, env=env, cwd=tmp,
                                  capture_output=True, text=True)
            wall = time.perf_counter() - start
            mem = f"{int(proc.stdout.split()[-1]) / 1024:.0f}" if proc.stdout.strip() else "?"
            status = "" if proc.returncode == 0 else f"  FAILED: {proc.stderr.strip().splitlines()[-1]}"
            print(f"{name:36}{wall:>10.1f}{mem:>16}{status}", flush=True)


if __name__ == "__main__":
    main()
