"""sct_deepseg_lesion on the real weights and test data."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts.sct_deepseg_lesion import main
from helpers.checks import run_error

pytestmark = pytest.mark.usefixtures("model_cache")


def test_lesion_t2s_with_centerline_file(sct_testing_data, in_tmp, capsys):
    t2s = sct_testing_data / "t2s" / "t2s.nii.gz"
    cord = sct_testing_data / "t2s" / "t2s_seg.nii.gz"
    assert main(["-i", str(t2s), "-c", "t2s", "-centerline", "file", "-file_centerline", str(cord),
                 "-ofolder", "out", "-qc", "qc"]) == 0
    seg, im = Image(in_tmp / "out" / "t2s_lesionseg.nii.gz"), Image(t2s)
    assert seg.data.shape == im.data.shape and np.allclose(seg.affine, im.affine)
    # healthy subject: only the few dorsal-GM false positives known from the Keras model (12-19)
    assert seg.data.sum() <= 40
    assert list((in_tmp / "qc").rglob("sct_deepseg_lesion"))
    assert "Lesions:" in capsys.readouterr().out


def test_lesion_healthy_t2_empty(sct_testing_data, in_tmp, capsys):
    # -qc with no lesion: an entry showing the image (the course's healthy-subject run), not an error
    assert main(["-i", str(sct_testing_data / "t2" / "t2.nii.gz"), "-c", "t2_ax", "-qc", "qc"]) == 0
    assert Image(in_tmp / "t2_lesionseg.nii.gz").data.sum() == 0
    assert "No lesion found" in capsys.readouterr().out
    assert list((in_tmp / "qc").rglob("sct_deepseg_lesion"))


def test_lesion_bad_inputs(sct_testing_data, in_tmp, capsys):
    t2 = str(sct_testing_data / "t2" / "t2.nii.gz")
    from spinalcordtoolbox.download import locate
    if not (locate("deepseg_lesion_models") / "t2_lesion.h5").is_file():  # offline mirror
        code, line = run_error(main, capsys, ["-i", t2, "-c", "t2"])
        assert code == 1 and "t2_lesion.h5" in line and "t2_ax" in line
    code, line = run_error(main, capsys, ["-i", t2, "-c", "t2_axx"])
    assert code == 1 and "Did you mean 't2_ax'" in line
    code, line = run_error(main, capsys, ["-i", t2, "-c", "t2_ax", "-centerline", "file", "-file_centerline",
                                    str(sct_testing_data / "t2s" / "t2s_seg.nii.gz")])
    assert code == 1 and "centerline" in line and "dimensions" in line
    code, line = run_error(main, capsys, ["-i", str(sct_testing_data / "dmri" / "dmri.nii.gz"), "-c", "t2s"])
    assert code == 1 and "4-D" in line
    assert not list(in_tmp.glob("*_lesionseg.nii.gz"))
