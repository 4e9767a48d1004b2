"""Benchmark (run by hand, not collected by pytest): the course's GM-informed registration
(PAM50 white matter -> t2s white matter, ``-initwarp`` from the t2 template registration) on
sct_testing_data, per t2s slice.

    PYTHONPATH=$PWD .venv/bin/python testing/benchmarks/bench_gm_informed.py [course]

Runs the course's sct_register_to_template line on t2 (manual cord segmentation and disc labels
made from the manual labeled segmentation), then the GM-informed sct_register_multimodal line
(PAM50_t2 standing in for PAM50_t2s) onto t2s with the white matter made from the reference
segmentations (t2s_seg - t2s_gmseg_manual), or with ``course`` from the course's own commands
(sct_propseg, sct_deepseg_gm). Prints, per t2s slice: whether the t2 warp's field covers it, and
the Dice of PAM50 WM / cord pulled through the initial and the final warp with the WM / cord
segmentations (docs/validation.md, "GM-informed registration").
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PARAM = ("step=1,type=seg,algo=rigid:step=2,type=seg,metric=CC,algo=bsplinesyn,slicewise=1,iter=3:"
         "step=3,type=im,metric=CC,algo=syn,slicewise=1,iter=2")


def _per_slice(moved, ref):
    out = []
    for z in range(ref.shape[2]):
        a, b = moved[:, :, z] > 0.5, ref[:, :, z] > 0.5
        out.append(2 * (a & b).sum() / max(1, a.sum() + b.sum()) if b.any() else np.nan)
    return np.round(out, 2)


def main(course_segs=False):
    import contextlib
    import shutil

    import nibabel as nib
    import pytest

    from helpers.course import Course, disc_labels_from_levels
    from spinalcordtoolbox.download import find_data
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.registration import warp as W
    from spinalcordtoolbox.scripts import (sct_deepseg_gm, sct_maths, sct_propseg, sct_register_multimodal,
                                           sct_register_to_template)

    data = Path(find_data("sct_testing_data"))
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        course = Course(Path(tmp), data).build()  # the course's layout, $SCT_DIR, the data mirror
        course.environment(mp)
        root, pam50 = course.root, course.root / "sct/data/PAM50"
        tpl = pam50 / "template"
        shutil.copyfile(data / "t2/t2_seg-manual.nii.gz", root / "t2/t2_seg.nii.gz")
        disc_labels_from_levels(data / "t2/t2_seg-manual_labeled.nii.gz", root / "t2/t2_step1_levels.nii.gz")
        with contextlib.chdir(root / "t2"):
            sct_register_to_template.main(["-i", "t2.nii.gz", "-s", "t2_seg.nii.gz", "-ldisc",
                                           "t2_step1_levels.nii.gz", "-c", "t2", "-t", str(pam50), "-v", "0"])
        with contextlib.chdir(root / "t2s"):
            if course_segs:
                sct_deepseg_gm.main(["-i", "t2s.nii.gz", "-v", "0"])
                sct_propseg.main(["-i", "t2s.nii.gz", "-c", "t2s", "-v", "0"])
            else:
                shutil.copyfile(data / "t2s/t2s_seg.nii.gz", "t2s_seg.nii.gz")
                shutil.copyfile(data / "t2s/t2s_gmseg_manual.nii.gz", "t2s_gmseg.nii.gz")
            sct_maths.main(["-i", "t2s_seg.nii.gz", "-sub", "t2s_gmseg.nii.gz", "-thr", "0", "-o",
                            "t2s_wmseg.nii.gz", "-v", "0"])
            sct_register_multimodal.main([
                "-i", str(tpl / "PAM50_t2.nii.gz"), "-iseg", str(tpl / "PAM50_wm.nii.gz"), "-d", "t2s.nii.gz",
                "-dseg", "t2s_wmseg.nii.gz", "-initwarp", "../t2/warp_template2anat.nii.gz", "-initwarpinv",
                "../t2/warp_anat2template.nii.gz", "-owarp", "warp_template2t2s.nii.gz", "-param", PARAM,
                "-v", "0"])
        dest = Image(str(root / "t2s/t2s.nii.gz"))
        init = str(root / "t2/warp_template2anat.nii.gz")
        covered = W.chain_coverage([init], dest.copy().change_orientation("RPI")).any(axis=(0, 1))
        print("t2s slice        ", list(range(dest.data.shape[2])))
        print("in the t2 field  ", covered.astype(int).tolist())
        refs = {n: np.asanyarray(nib.load(str(root / f"t2s/{f}")).dataobj)
                for n, f in (("wm", "t2s_wmseg.nii.gz"), ("cord", "t2s_seg.nii.gz"))}
        for label, chain in (("initial", [init]), ("final", [str(root / "t2s/warp_template2t2s.nii.gz")])):
            for name in ("wm", "cord"):
                moved = W.apply_transforms(Image(str(tpl / f"PAM50_{name}.nii.gz")), dest, chain).data
                a, b = moved[:, :, covered] > 0.5, refs[name][:, :, covered] > 0.5
                pooled = 2 * (a & b).sum() / (a.sum() + b.sum())
                print(f"{label:8s}{name:5s} Dice", _per_slice(moved, refs[name]).tolist(),
                      f"on the covered slices together {pooled:.3f}")


if __name__ == "__main__":
    main(course_segs="course" in sys.argv[1:])
