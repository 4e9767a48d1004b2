"""sct_deepseg_gm and sct_register_to_template on subjects of other sizes (voxels of
sct_testing_data images scaled along S-I and/or across, as in label_vertebrae_anatomy.py).

    PYTHONPATH=$PWD python testing/benchmarks/anatomy_scaling.py gm|register
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


def _sct(name, args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", f"spinalcordtoolbox.scripts.{name}"] + args, cwd=cwd,
                          env=env, capture_output=True, text=True)


def _dice(a_path, b_path):
    a = np.asanyarray(nib.load(str(a_path)).dataobj) > 0.5
    b = np.asanyarray(nib.load(str(b_path)).dataobj) > 0.5
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def gm(data, work):
    """GM Dice against t2s_gmseg_manual scaled identically; in-plane scales only (t2s is axial)."""
    for axial in (1.0, 0.8, 0.85, 1.15, 1.25):
        w = work / f"gm_{axial}"
        w.mkdir()
        scaled_copy(data / "t2s" / "t2s.nii.gz", w / "im.nii.gz", 1.0, axial)
        scaled_copy(data / "t2s" / "t2s_gmseg_manual.nii.gz", w / "ref.nii.gz", 1.0, axial)
        p = _sct("sct_deepseg_gm", ["-i", "im.nii.gz", "-v", "0"], w)
        result = f"Dice {_dice(w / 'im_gmseg.nii.gz', w / 'ref.nii.gz'):.3f}" if p.returncode == 0 else "failed"
        print(f"sct_deepseg_gm t2s axial x{axial}: {result}", flush=True)


def register(data, work):
    """Template cord (warped by the registration) against t2_seg-manual, both scaled identically."""
    for si, axial in ((1.0, 1.0), (1.2, 1.0), (0.85, 1.0), (1.0, 0.8), (1.0, 1.2)):
        w = work / f"reg_{si}_{axial}"
        w.mkdir()
        for name in ("t2.nii.gz", "t2_seg-manual.nii.gz", "labels.nii.gz"):
            scaled_copy(data / "t2" / name, w / name, si, axial)
        p = _sct("sct_register_to_template", ["-i", "t2.nii.gz", "-s", "t2_seg-manual.nii.gz", "-l",
                                              "labels.nii.gz", "-c", "t2", "-v", "0"], w)
        if p.returncode == 0:
            p = _sct("sct_warp_template", ["-d", "t2.nii.gz", "-w", "warp_template2anat.nii.gz", "-a", "0",
                                           "-v", "0"], w)
        result = (f"template cord Dice {_dice(w / 'label/template/PAM50_cord.nii.gz', w / 't2_seg-manual.nii.gz'):.3f}"
                  if p.returncode == 0 else "failed")
        print(f"sct_register_to_template t2 S-I x{si} axial x{axial}: {result}", flush=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "gm"
    {"gm": gm, "register": register}[what](find_data("sct_testing_data"),
                                          Path(tempfile.mkdtemp(prefix="anatomy_scaling_")))
