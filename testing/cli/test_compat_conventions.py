"""Conventions of the established toolbox that published pipelines rely on, checked on
sct_testing_data with the figures its documentation and its own tests give."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.labeling import labels as lab


def _main(module, argv):
    try:
        return module.main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


# ------------------------------------------------------------------ sct_label_utils
def test_label_utils_create_seg_mid_and_qc(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts import sct_label_utils

    seg = sct_testing_data / "t2" / "t2_seg-manual.nii.gz"
    assert _main(sct_label_utils, ["-i", seg, "-create-seg-mid", "4", "-o", "mid.nii.gz", "-qc", "qc"]) == 0
    # t2 is AIL, 55 slices along I-S: the established label sits in slice round(55 / 2) = 28
    assert lab.label_points(Image("mid.nii.gz")) == [(30, 28, 25, 4)]
    assert (in_tmp / "qc" / "index.html").is_file() and list((in_tmp / "qc").rglob("entry.json"))
    assert _main(sct_label_utils, ["-i", seg, "-cubic-to-point", "-o", "c.nii.gz"]) == 0
    assert lab.label_points(Image("c.nii.gz")) == [(31, 27, 25, 1)]


def test_label_utils_vert_body_is_level_centre_of_mass(sct_testing_data):
    labeled = Image(sct_testing_data / "t2" / "t2_seg-manual_labeled.nii.gz")
    pts = lab.label_points(lab.vertebral_body_points(labeled, [0]))
    rpi = np.rint(labeled.copy().change_orientation("RPI").data).astype(int)
    body_rpi = lab.vertebral_body_points(labeled, [0]).change_orientation("RPI")
    for x, y, z, v in body_rpi.nonzero_coords().astype(int):
        assert (x, y, z) == tuple(np.round(np.argwhere(rpi == v).mean(axis=0)).astype(int))
    assert [p[3] for p in pts] == [2, 3, 4, 5]
