"""Wall time and peak memory of sct_dmri_moco and sct_fmri_moco on sct_testing_data, with the
course's masks, plus sct_dmri_compute_dti and FA in the cord (run by hand):

    OMP_NUM_THREADS=2 .venv/bin/python testing/benchmarks/bench_moco.py

Each command runs in its own process (start-up included); peak memory = max RSS of that child.
The masks are built as in the course: a 35 mm cylinder around the cord (dMRI: around the
centerline shipped with the data; fMRI: around the t2 manual segmentation brought onto the fMRI
grid).
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent


def run(cmd, cwd):
    t0 = time.time()
    proc = subprocess.Popen([str(BIN / cmd[0])] + cmd[1:] + ["-v", "0"], cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise RuntimeError(f"{cmd[0]} failed")
    return time.time() - t0, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main():
    from spinalcordtoolbox.download import find_data
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.resampling import resample_to_grid

    d = find_data("sct_testing_data")
    with tempfile.TemporaryDirectory() as tmp:
        seg = resample_to_grid(Image(f"{d}/t2/t2_seg-manual.nii.gz"), (68, 68, 6),
                               Image(f"{d}/fmri/fmri.nii.gz").affine, "linear")
        seg.data = (seg.data > 0.5).astype(np.uint8)
        seg.save(f"{tmp}/t2_seg_reg.nii.gz")
        steps = [
            ("create_mask dmri", ["sct_create_mask", "-i", f"{d}/dmri/dwi_mean.nii.gz", "-p",
                                  f"centerline,{d}/dmri/dwi_mean_centerline-optic.nii.gz", "-size", "35mm",
                                  "-o", "mask_dmri.nii.gz"]),
            ("create_mask fmri", ["sct_create_mask", "-i", f"{d}/fmri/fmri.nii.gz", "-p",
                                  "centerline,t2_seg_reg.nii.gz", "-size", "35mm", "-f", "cylinder",
                                  "-o", "mask_fmri.nii.gz"]),
            ("sct_dmri_moco dmri/ (7 vol., -g 3)", ["sct_dmri_moco", "-i", f"{d}/dmri/dmri.nii.gz", "-m",
                                                     "mask_dmri.nii.gz", "-bvec", f"{d}/dmri/bvecs.txt",
                                                     "-ofolder", "dmri"]),
            ("sct_fmri_moco fmri/ (30 vol., -g 1)", ["sct_fmri_moco", "-i", f"{d}/fmri/fmri.nii.gz", "-m",
                                                      "mask_fmri.nii.gz", "-ofolder", "fmri"]),
            ("sct_fmri_moco fmri/ without mask", ["sct_fmri_moco", "-i", f"{d}/fmri/fmri.nii.gz",
                                                  "-ofolder", "fmri_nomask"]),
            ("sct_dmri_compute_dti dmri_moco", ["sct_dmri_compute_dti", "-i", "dmri/dmri_moco.nii.gz",
                                                "-bval", f"{d}/dmri/bvals.txt", "-bvec",
                                                f"{d}/dmri/bvecs.txt"]),
        ]
        for name, cmd in steps:
            wall, peak, cpu = run(cmd, tmp)
            if not name.startswith("create_mask"):
                print(f"{name:40s} {wall:6.1f} s wall, {cpu:5.1f} s CPU, peak {peak:6.0f} MB")
        # between-volume variance in the cord, before / after
        cord = seg.data > 0
        for label, raw, moco in (("fmri", f"{d}/fmri/fmri.nii.gz", f"{tmp}/fmri/fmri_moco.nii.gz"),):
            a = Image(raw).data[cord].astype(float).var(1).mean()
            b = Image(moco).data[cord].astype(float).var(1).mean()
            print(f"{label}: between-volume variance in the cord {a:.0f} -> {b:.0f} ({100 * (b / a - 1):+.0f} %)")
        ctl = Image(f"{d}/dmri/dwi_mean_centerline-optic.nii.gz")
        fa = Image(f"{tmp}/dti_FA.nii.gz").data
        ii, jj = np.meshgrid(np.arange(fa.shape[0]), np.arange(fa.shape[1]), indexing="ij")
        vals = []
        for z in range(fa.shape[2]):
            c = np.argwhere(ctl.data[:, :, z] > 0).mean(0)
            px = Image(f"{tmp}/dti_FA.nii.gz").pixdim[0]
            disk = ((ii - c[0]) ** 2 + (jj - c[1]) ** 2) * px ** 2 <= 2.5 ** 2
            vals.append(fa[:, :, z][disk])
        vals = np.concatenate(vals)
        print(f"FA in the cord (2.5 mm disk around the centerline): mean {vals.mean():.3f}, "
              f"median {np.median(vals):.3f}, {len(vals)} voxels")


if __name__ == "__main__":
    main()
