"""Benchmark (run by hand): wall time and peak memory of the pretrained-network commands.

    .venv/bin/python testing/benchmarks/bench_pretrained.py [--threads N] [--device cpu|cuda]
                                                          [-k gm] [--repeat 3]

Each case runs in a fresh process (start-up, weight loading and first-call costs included,
as a user's script sees them); peak memory is that child's maximum resident set size, CPU
time its user + system time (all threads: on a loaded machine compare CPU times, wall times
there mostly measure the load). Segmentations with a manual reference report their Dice.
Weights come through the downloader from $SCT_DATA_MIRROR (default: ../shared/data).
To compare two versions in the same conditions, run it with PYTHONPATH set to each checkout.
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
    """(name, argv, manual reference of the output or None)"""
    t2, t2s = data / "t2" / "t2.nii.gz", data / "t2s" / "t2s.nii.gz"
    t2s_manual = data / "t2s" / "t2s_gmseg_manual.nii.gz"
    gm = [
        ("gm -h (start-up)", ["sct_deepseg_gm", "-h"], None),
        ("gm large t2s (9 sl.)", ["sct_deepseg_gm", "-i", t2s, "-m", "large", "-o", "out.nii.gz"], t2s_manual),
        ("gm challenge t2s", ["sct_deepseg_gm", "-i", t2s, "-m", "challenge", "-o", "out.nii.gz"], t2s_manual),
        ("gm large t2s_uncropped (11 sl.)", ["sct_deepseg_gm", "-i", data / "t2s" / "t2s_uncropped.nii.gz",
                                             "-o", "out.nii.gz"],
         data / "t2s" / "t2s_uncropped_gmseg_manual.nii.gz"),
        ("gm large mt1 (5 sl.)", ["sct_deepseg_gm", "-i", data / "mt" / "mt1.nii.gz", "-o", "out.nii.gz"],
         data / "mt" / "mt1_gmseg_goldstandard.nii.gz"),
    ]
    others = [
        ("sc t2 centerline", ["sct_deepseg_sc", "-i", t2, "-c", "t2", "-centerline-only"]),
        ("sc t2s centerline", ["sct_deepseg_sc", "-i", t2s, "-c", "t2s", "-centerline-only"]),
        ("sc dwi centerline", ["sct_deepseg_sc", "-i", data / "dmri" / "dwi_mean.nii.gz", "-c", "dwi",
                               "-centerline-only"]),
        ("lesion t2_ax t2 (cnn ctr)", ["sct_deepseg_lesion", "-i", t2, "-c", "t2_ax"]),
        ("lesion t2_ax t2_fake_lesion", ["sct_deepseg_lesion", "-i", data / "t2" / "t2_fake_lesion.nii.gz",
                                         "-c", "t2_ax"]),
        ("lesion t2s t2s (cnn ctr)", ["sct_deepseg_lesion", "-i", t2s, "-c", "t2s"]),
    ]
    return gm + [(name, argv, None) for name, argv in others]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("-k", default="", help="run only the cases whose name contains this text")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (the median is shown)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.download import SHARED_DATA, find_data
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics.similarity import dice

    data = find_data("sct_testing_data")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
                   SCT_DATA_DIR=str(Path(tmp) / "cache"))
        env.setdefault("SCT_DATA_MIRROR", str(SHARED_DATA))
        print(f"{'case':36}{'wall [s]':>10}{'CPU [s]':>9}{'peak RSS [MiB]':>16}{'Dice':>7}"
              f"   (threads={args.threads}, device={args.device}, median of {args.repeat})")
        for name, argv, reference in cases(data):
            if args.k not in name:
                continue
            if "-h" not in argv:
                argv = argv + ["-device", args.device, "-v", "0"]
            # a wrapper process per case, so that its children's peak RSS and CPU time are this
            # case's alone
            wrapper = ("import resource, subprocess, sys; "
                       "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
                       "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
                       "print(u.ru_maxrss, u.ru_utime + u.ru_stime); "
                       "sys.exit(r.returncode)")
            command = [str(BIN / argv[0])] + [str(a) for a in argv[1:]]
            runs = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                proc = subprocess.run([sys.executable, "-c", wrapper] + command, env=env, cwd=tmp,
                                      capture_output=True, text=True)
                wall = time.perf_counter() - start
                rss, cpu = proc.stdout.split()[-2:] if proc.stdout.strip() else ("nan", "nan")
                runs.append((wall, float(cpu), float(rss) / 1024))
            wall, cpu, mem = (sorted(r[i] for r in runs)[len(runs) // 2] for i in range(3))
            score = ""
            if reference is not None and proc.returncode == 0:
                score = f"{dice(Image(str(Path(tmp) / 'out.nii.gz')).data, Image(str(reference)).data):.3f}"
            status = "" if proc.returncode == 0 else f"  FAILED: {proc.stderr.strip().splitlines()[-1]}"
            print(f"{name:36}{wall:>10.2f}{cpu:>9.2f}{mem:>16.0f}{score:>7}{status}", flush=True)


if __name__ == "__main__":
    main()
