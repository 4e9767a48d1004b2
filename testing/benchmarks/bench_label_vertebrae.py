"""Benchmark sct_label_vertebrae on t2: wall time and peak memory (run by hand, not by pytest).

    SCT_DATA_MIRROR=../shared/data .venv/bin/python testing/benchmarks/bench_label_vertebrae.py

Each case runs the command in a fresh subprocess (start-up included) in an empty folder, so
the straightening is computed (no straightening.cache), and reports the wall time, the CPU
time and the child's peak resident memory.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def run_case(name, args, repeat=3):
    exe = str(Path(sys.executable).parent / "sct_label_vertebrae")
    times, cpus, peak = [], [], 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
                    "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
                    "print(time.perf_counter() - t, r.ru_maxrss, r.ru_utime + r.ru_stime)")
            out = subprocess.run([sys.executable, "-c", code, exe] + args + ["-v", "0"], check=True,
                                 capture_output=True, text=True, cwd=tmp).stdout.split()
            times.append(float(out[0]))
            cpus.append(float(out[2]))
            peak = max(peak, int(out[1]))
    print(f"{name}: wall {min(times):.2f} s (best of {repeat}; all {', '.join(f'{t:.2f}' for t in times)}), "
          f"CPU {min(cpus):.2f} s, peak RSS {peak / 1024:.0f} MiB")


def main():
    from spinalcordtoolbox.download import find_data

    data = find_data("sct_testing_data") / "t2"
    pam50 = find_data("PAM50")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    common = ["-i", str(data / "t2.nii.gz"), "-s", str(data / "t2_seg-manual.nii.gz"), "-c", "t2",
              "-t", str(pam50)]
    run_case("t2, -initz 34,3 (detection + straightening files)", common + ["-initz", "34,3"])
    run_case("t2, -discfile labels.nii.gz", common + ["-discfile", str(data / "labels.nii.gz")])


if __name__ == "__main__":
    main()
