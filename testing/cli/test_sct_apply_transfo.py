"""sct_apply_transfo and sct_concat_transfo on the test subject (in-process calls of main)."""
import numpy as np
import pytest

from spinalcordtoolbox.metrics.similarity import dice
from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts import sct_apply_transfo, sct_concat_transfo



IDENTITY_TXT = ("#Insight Transform File V1.0\n#Transform 0\nTransform: AffineTransform_double_3_3\n"
                "Parameters: 1 0 0 0 1 0 0 0 1 0 0 0\nFixedParameters: 0 0 0\n")


def test_template_cord_onto_t2_and_concat_with_identity(in_tmp, sct_testing_data):
    d = sct_testing_data
    cord = str(d / "template" / "template" / "PAM50_small_cord.nii.gz")
    t2 = str(d / "t2" / "t2.nii.gz")
    w = str(d / "t2" / "warp_template2anat.nii.gz")
    assert sct_apply_transfo.main(["-i", cord, "-d", t2, "-w", w, "-x", "linear", "-v", "0"]) == 0
    out = Image("PAM50_small_cord_reg.nii.gz")  # default name, current folder
    manual = Image(str(d / "t2" / "t2_seg-manual.nii.gz"))
    # binarised at 0.5; 0.951 measured independently (conventions.md); measured here 0.951
    assert dice(out.data, manual.data) >= 0.93
    assert out.data.shape == manual.data.shape and np.allclose(out.affine, manual.affine)
    (in_tmp / "identity.txt").write_text(IDENTITY_TXT)
    assert sct_concat_transfo.main(["-d", t2, "-w", w, "identity.txt", "-o", "w_id.nii.gz", "-v", "0"]) == 0
    assert sct_apply_transfo.main(["-i", cord, "-d", t2, "-w", "w_id.nii.gz", "-x", "linear",
                                   "-o", "via_concat.nii.gz", "-v", "0"]) == 0
    assert np.abs(Image("via_concat.nii.gz").data - out.data).max() < 1e-4


def test_4d_input_and_inverse_affine(in_tmp, sct_testing_data):
    from spinalcordtoolbox.registration.warp import AffineTransform, write_affine
    dmri = str(sct_testing_data / "dmri" / "dmri.nii.gz")
    src = Image(dmri)
    # a translation by a whole number of voxels: linear interpolation is then exact
    v = np.array([2, -1, 1])
    write_affine(AffineTransform(np.eye(3), (src.affine[:3, :3] @ v) * [-1, -1, 1]), "shift.txt")
    assert sct_apply_transfo.main(["-i", dmri, "-d", dmri, "-w", "shift.txt", "-x", "linear",
                                   "-o", "there.nii.gz", "-v", "0"]) == 0
    there = Image("there.nii.gz").data
    assert there.shape == src.data.shape
    nx, ny, nz = src.data.shape[:3]
    assert np.allclose(there[:nx - 2, 1:, :nz - 1], src.data[2:, :ny - 1, 1:], atol=1e-3)
    assert sct_apply_transfo.main(["-i", "there.nii.gz", "-d", dmri, "-w", "shift.txt", "-winv",
                                   "shift.txt", "-x", "linear", "-o", "back.nii.gz", "-v", "0"]) == 0
    back = Image("back.nii.gz").data
    assert np.allclose(back[2:, :ny - 1, 1:], src.data[2:, :ny - 1, 1:], atol=1e-3)


def test_bad_inputs_exit_with_one_line_and_no_output(in_tmp, sct_testing_data, capsys):
    t2 = str(sct_testing_data / "t2" / "t2.nii.gz")
    with pytest.raises(SystemExit) as e:
        sct_apply_transfo.main(["-i", t2, "-d", t2, "-w", "missing.nii.gz"])
    assert e.value.code == 2 and "file not found" in capsys.readouterr().err
    (in_tmp / "notawarp.txt").write_text("hello\n")
    with pytest.raises(SystemExit) as e:
        sct_apply_transfo.main(["-i", t2, "-d", t2, "-w", "notawarp.txt", "-o", "x.nii.gz"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("ERROR:") and err.count("\n") == 1
    with pytest.raises(SystemExit) as e:  # never overwrite an input
        sct_apply_transfo.main(["-i", t2, "-d", t2, "-w", "notawarp.txt", "-o", t2])
    assert e.value.code == 1
    assert not list(in_tmp.glob("*.nii*"))


def test_sct_image_to_fsl_and_back(in_tmp, sct_testing_data):
    from spinalcordtoolbox.registration.warp import read_warp
    from spinalcordtoolbox.scripts import sct_image
    w = str(sct_testing_data / "t2" / "warp_template2anat.nii.gz")
    tmpl = str(sct_testing_data / "template" / "template" / "PAM50_small_t2.nii.gz")
    assert sct_image.main(["-i", w, "-to-fsl", tmpl, "-v", "0"]) == 0
    assert Image("warp_template2anat_fsl.nii.gz").data.shape == (60, 55, 52, 3)
    assert sct_image.main(["-i", "warp_template2anat_fsl.nii.gz", "-from-fsl", tmpl, "-o", "itk.nii.gz",
                           "-v", "0"]) == 0
    _, a = read_warp(w)
    _, b = read_warp("itk.nii.gz")
    ok = (np.abs(a) < 1e4).all(-1)
    assert np.abs(a - b)[ok].max() < 1e-3
