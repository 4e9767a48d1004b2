"""Benchmark sct_process_segmentation: wall time and peak memory (run by hand, not by pytest).

    .venv/bin/python testing/benchmarks/bench_process_seg.py

Each case runs the command in a fresh subprocess (start-up included) and reports the wall
time, the CPU time (user + system: less sensitive to a busy machine) and the child's peak
resident memory (resource.getrusage(RUSAGE_CHILDREN).ru_maxrss).
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def run_case(name, args, repeat=3):
    exe = str(Path(sys.executable).parent / "sct_process_segmentation")
    times, cpus = [], []
    peak = 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            # a fresh python per run so ru_maxrss of this child is its own peak
            code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
                    "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
                    "print(time.perf_counter() - t, r.ru_maxrss, r.ru_utime + r.ru_stime)")
            out = subprocess.run([sys.executable, "-c", code, exe] + args + ["-o", f"{tmp}/csa.csv", "-v", "0"],
                                 check=True, capture_output=True, text=True, cwd=tmp).stdout.split()
            times.append(float(out[0]))
            cpus.append(float(out[2]))
            peak = max(peak, int(out[1]))
    print(f"{name}: wall {min(times):.2f} s (best of {repeat}; all {', '.join(f'{t:.2f}' for t in times)}), "
          f"CPU {min(cpus):.2f} s, peak RSS {peak / 1024:.0f} MiB")


def main():
    from spinalcordtoolbox.download import find_data

    data = find_data("sct_testing_data")
    pam50 = find_data("PAM50")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    run_case("t2_seg-manual -perslice 1 (60x55x52, 1 mm)",
             ["-i", str(data / "t2" / "t2_seg-manual.nii.gz"), "-perslice", "1"])
    run_case("PAM50_cord whole spine (141x141x991, 0.5 mm)",
             ["-i", str(pam50 / "template" / "PAM50_cord.nii.gz")], repeat=2)
    # a large field of view (whole-head-like 0.5 mm grid, 400 x 400 x 300) holding a small cord:
    # memory must follow the image size, not the upsampled field of view
    import numpy as np
    from spinalcordtoolbox.image import Image
    with tempfile.TemporaryDirectory() as tmp:
        data = np.zeros((400, 400, 300), np.uint8)
        xx, yy = np.meshgrid(np.arange(400), np.arange(400), indexing="ij")
        for z in range(300):
            cx = 200 + 20 * np.sin(z / 60)
            data[:, :, z] = ((xx - cx) / 12) ** 2 + ((yy - 180) / 8) ** 2 <= 1
        path = os.path.join(tmp, "big_seg.nii.gz")
        Image(data, affine=np.diag([-0.5, 0.5, 0.5, 1])).save(path, verbose=False)
        run_case("large FOV 400x400x300 (0.5 mm, 48 M voxels)", ["-i", path], repeat=1)


if __name__ == "__main__":
    main()
