"""sct_propseg on subjects of other sizes: sct_testing_data images with their voxels scaled along
S-I and/or in the axial plane (see label_vertebrae_anatomy.py), Dice against the segmentation
scaled identically.

    PYTHONPATH=$PWD python testing/benchmarks/propseg_anatomy.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from label_vertebrae_anatomy import scaled_copy  # noqa: E402
from spinalcordtoolbox.download import find_data  # noqa: E402

SUBJECTS = [("t2", "t2.nii.gz", "t2_seg-manual.nii.gz", "t2"), ("t1", "t1w.nii.gz", "t1w_seg-manual.nii.gz", "t1"),
            ("t2s", "t2s.nii.gz", "t2s_seg.nii.gz", "t2s"), ("mt", "mt1.nii.gz", "mt1_seg.nii.gz", "t2")]
SCALES = [(1.0, 1.0), (1.2, 1.0), (1.0, 0.8), (1.0, 1.2), (0.8, 0.8)]  # (S-I, axial)


def main():
    data = find_data("sct_testing_data")
    work = Path(tempfile.mkdtemp(prefix="propseg_anatomy_"))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    propseg = [sys.executable, "-m", "spinalcordtoolbox.scripts.sct_propseg"]
    for folder, image, seg, contrast in SUBJECTS:
        for si, axial in SCALES:
            w = work / f"{folder}_{si}_{axial}"
            w.mkdir()
            scaled_copy(data / folder / image, w / "im.nii.gz", si, axial)
            scaled_copy(data / folder / seg, w / "ref.nii.gz", si, axial)
            p = subprocess.run(propseg + ["-i", "im.nii.gz", "-c", contrast, "-v", "0"], cwd=w, env=env,
                               capture_output=True, text=True)
            if p.returncode:
                print(f"{folder} S-I x{si} axial x{axial}: not found ({p.stderr.strip()[-80:]})", flush=True)
                continue
            a = np.asanyarray(nib.load(str(w / "im_seg.nii.gz")).dataobj) > 0.5
            b = np.asanyarray(nib.load(str(w / "ref.nii.gz")).dataobj) > 0.5
            print(f"{folder} S-I x{si} axial x{axial}: Dice {2 * (a & b).sum() / (a.sum() + b.sum()):.3f}", flush=True)


if __name__ == "__main__":
    main()
