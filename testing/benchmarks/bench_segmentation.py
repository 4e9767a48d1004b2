"""Benchmark (run by hand, not collected by pytest): CPU wall time and peak memory of sct_propseg and
sct_deepseg on the test images.

    OMP_NUM_THREADS=2 .venv/bin/python testing/benchmarks/bench_segmentation.py

Each command runs in its own process (start-up included); peak memory is that process's maximum
resident set size. sct_deepseg runs the tiny nnU-Net model of the tests (built first, ~1-2 min),
so its time measures the toolbox's path (install, preprocessing, nnU-Net sliding window, export),
not the size of a zoo model. The cnn centerline weights come from ../shared/data as a local mirror.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

WRAPPER = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
           "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
           "print(p.returncode, time.perf_counter() - t, r.ru_maxrss, r.ru_utime + r.ru_stime)")


def measure(argv, env, cwd):
    out = subprocess.run([sys.executable, "-c", WRAPPER] + argv, capture_output=True, text=True, env=env,
                         cwd=cwd, check=True).stdout.split()
    rc, wall, rss_kb, cpu = int(out[0]), float(out[1]), int(out[2]), float(out[3])
    return rc, wall, rss_kb / 1024, cpu


def main():
    from spinalcordtoolbox.download import SHARED_DATA, find_data

    data = find_data("sct_testing_data")
    bindir = Path(sys.executable).parent
    work = Path(tempfile.mkdtemp(prefix="bench_seg_"))
    env = dict(os.environ, SCT_DATA_DIR=str(work / "cache"))
    env.setdefault("SCT_DATA_MIRROR", str(SHARED_DATA))
    runs = [(f"sct_propseg {img} -c {c}", [str(bindir / "sct_propseg"), "-i", str(data / img), "-c", c, "-v", "0"])
            for img, c in [("t2/t2.nii.gz", "t2"), ("t1/t1w.nii.gz", "t1"), ("t2s/t2s.nii.gz", "t2s"),
                           ("mt/mt1.nii.gz", "t2s"), ("dmri/dwi_mean.nii.gz", "dwi")]]
    from helpers.tiny_nnunet import tiny_model_zip
    model = tiny_model_zip(data)
    t2 = str(data / "t2" / "t2.nii.gz")
    deepseg = [str(bindir / "sct_deepseg"), "spinalcord", "-i", t2, "-custom-url", str(model), "-device", "cpu",
               "-v", "0"]
    runs += [("sct_deepseg spinalcord t2 (install + run)", deepseg),
             ("sct_deepseg spinalcord t2 (installed)", deepseg)]
    print(f"{'command':<48}{'rc':>4}{'wall s':>9}{'cpu s':>9}{'peak MB':>10}")
    for name, argv in runs:
        rc, wall, mb, cpu = measure(argv, env, work)
        print(f"{name:<48}{rc:>4}{wall:>9.1f}{cpu:>9.1f}{mb:>10.0f}")


if __name__ == "__main__":
    main()
