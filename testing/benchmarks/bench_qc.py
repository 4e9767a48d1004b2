"""Benchmark of the QC report (run by hand, not collected by pytest).

    .venv/bin/python testing/benchmarks/bench_qc.py [n_writers]

1. Time and peak memory of one generate_qc call per kind of entry (segmentation mosaic,
   sagittal labels, before/after), in this process, after a warm-up.
2. Stress test of parallel writers: ``n_writers`` processes (default 16) add 2 entries each to
   one QC folder at the same moment; checks that the index lists every entry and that no
   temporary file is left, and reports the wall time.
"""
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spinalcordtoolbox.download import find_data
from spinalcordtoolbox.reports.qc import generate_qc
from spinalcordtoolbox.reports.records import read_index

WORKER = """
import sys
from spinalcordtoolbox.reports.qc import generate_qc
from spinalcordtoolbox.reports.records import read_index
t2, qc, i = sys.argv[1], sys.argv[2], sys.argv[3]
generate_qc(t2 + "/t2.nii.gz", qc, process="sct_deepseg_sc", seg=t2 + "/t2_seg-manual.nii.gz", subject="sub-" + i)
generate_qc(t2 + "/t2.nii.gz", qc, process="sct_label_utils", seg=t2 + "/labels.nii.gz", subject="sub-" + i)
"""


def main():
    n_writers = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    data = find_data("sct_testing_data")
    t2, mt = data / "t2", data / "mt"
    out = Path(tempfile.mkdtemp(prefix="bench_qc_"))
    try:
        cases = {
            "segmentation (axial mosaic, 55 slices)": dict(image=t2 / "t2.nii.gz", seg=t2 / "t2_seg-manual.nii.gz"),
            "labels (sagittal)": dict(image=t2 / "t2.nii.gz", seg=t2 / "labels.nii.gz"),
            "before/after (mt1 vs mt0)": dict(image=mt / "mt1.nii.gz", image2=mt / "mt0.nii.gz",
                                              seg=mt / "mt1_seg.nii.gz"),
        }
        generate_qc(t2 / "t2.nii.gz", out / "warmup", process="warmup", seg=t2 / "t2_seg-manual.nii.gz")
        for name, kw in cases.items():
            image = kw.pop("image")
            t0 = time.perf_counter()
            generate_qc(image, out / "single", process="bench", **kw)
            print(f"{name:42s} {time.perf_counter() - t0:6.2f} s")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process: {peak_mb:.0f} MB")

        # a large acquisition: 512 x 512 x 300 int16 (150 MB), 0.5 x 0.5 x 1 mm, cord over 300 slices
        import numpy as np

        from spinalcordtoolbox.image import Image
        rng = np.random.default_rng(0)
        big = rng.integers(0, 1000, size=(512, 512, 300), dtype=np.int16)
        seg = np.zeros(big.shape, np.uint8)
        xx, yy = np.mgrid[:512, :512]
        seg[((xx - 256) ** 2 + (yy - 250) ** 2) < 14 ** 2] = 1
        affine = np.diag([-0.5, 0.5, 1.0, 1.0])
        base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        generate_qc(Image(big, affine=affine), out / "big", process="bench", seg=Image(seg, affine=affine))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"512x512x300 int16 + seg (axial, 300 tiles): {time.perf_counter() - t0:.2f} s, "
              f"peak memory {peak_mb:.0f} MB (inputs alone: {(big.nbytes + seg.nbytes) / 2**20:.0f} MB, "
              f"peak before: {base_mb:.0f} MB)")

        qc = out / "parallel"
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(t2), str(qc), f"{i:02d}"])
                 for i in range(n_writers)]
        codes = [p.wait() for p in procs]
        wall = time.perf_counter() - t0
        entries = read_index(qc)
        leftovers = list(qc.rglob("*.part*"))
        print(f"{n_writers} parallel writers x 2 entries: {wall:.1f} s wall, exit codes ok: "
              f"{all(c == 0 for c in codes)}, entries in index: {len(entries)} (expected {2 * n_writers}), "
              f"temporary files left: {len(leftovers)}")
        if len(entries) != 2 * n_writers or leftovers or any(codes):
            sys.exit(1)
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
