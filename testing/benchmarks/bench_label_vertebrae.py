"""Benchmark sct_label_vertebrae on t2 (no init, -initz, -discfile): wall time and peak memory
(run by hand, not by pytest).

    SCT_DATA_MIRROR=../shared/data .venv/bin/python testing/benchmarks/bench_label_vertebrae.py

Each case runs the command in a fresh subprocess (start-up included) in an empty folder, so
the straightening is computed (no straightening.cache), and reports the wall time, the CPU
time and the child's peak resident memory.
"""
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

from bench_segmentation import measure  # noqa: E402  (the one subprocess timer of the benchmarks)


def run_case(name, args, repeat=3):
    exe = str(Path(sys.executable).parent / "sct_label_vertebrae")
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            rc, wall, rss_mib, cpu = measure([exe] + args + ["-v", "0"], dict(os.environ), tmp)
            if rc:
                raise SystemExit(f"{name}: sct_label_vertebrae failed (exit {rc})")
            runs.append((wall, rss_mib, cpu))
    walls = [r[0] for r in runs]
    print(f"{name}: wall {min(walls):.2f} s (best of {repeat}; all {', '.join(f'{t:.2f}' for t in walls)}), "
          f"CPU {min(r[2] for r in runs):.2f} s, peak RSS {max(r[1] for r in runs):.0f} MiB")


def main():
    from spinalcordtoolbox.download import find_data

    data = find_data("sct_testing_data") / "t2"
    pam50 = find_data("PAM50")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    common = ["-i", str(data / "t2.nii.gz"), "-s", str(data / "t2_seg-manual.nii.gz"), "-c", "t2",
              "-t", str(pam50)]
    run_case("t2, no init (automatic C2-C3 + detection + straightening files)", common)
    run_case("t2, -initz 34,3 (detection + straightening files)", common + ["-initz", "34,3"])
    run_case("t2, -discfile labels.nii.gz", common + ["-discfile", str(data / "labels.nii.gz")])


if __name__ == "__main__":
    main()
