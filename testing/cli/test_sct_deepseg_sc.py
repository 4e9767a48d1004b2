"""sct_deepseg_sc: offline centerline detection, and a clear error for the missing seg weights."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts.sct_deepseg_sc import main
from helpers.checks import run_error

pytestmark = pytest.mark.usefixtures("model_cache")


def test_centerline_only_t2(sct_testing_data, in_tmp):
    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    assert main(["-i", str(t2), "-c", "t2", "-centerline-only", "-qc", "qc"]) == 0
    ctl, im = Image(in_tmp / "t2_centerline.nii.gz"), Image(t2)
    assert ctl.data.shape == im.data.shape and np.allclose(ctl.affine, im.affine)
    rpi = ctl.change_orientation("RPI").data
    assert rpi.sum() == 55 and rpi.sum(axis=(0, 1)).max() == 1  # one voxel per slice
    # within 1 mm (voxel rounding) of the manual centerline, slice by slice
    manual = Image(sct_testing_data / "t2" / "t2_centerline-manual.nii.gz").change_orientation("RPI").data
    dist = [np.linalg.norm(np.argwhere(rpi[..., z])[0] - np.argwhere(manual[..., z]).mean(0))
            for z in range(rpi.shape[2]) if rpi[..., z].any() and manual[..., z].any()]
    assert len(dist) == 55 and np.mean(dist) < 1.0
    assert list((in_tmp / "qc").rglob("sct_deepseg_sc"))


def installed(filename):
    """Whether the installed deepseg_sc_models hold ``filename`` (a full download from the
    upstream URL does; the offline mirror has only the centerline detectors)."""
    from spinalcordtoolbox.download import locate
    return (locate("deepseg_sc_models") / filename).is_file()


def test_segmentation_weights_error(sct_testing_data, in_tmp, capsys):
    code, line = run_error(main, capsys, ["-i", str(sct_testing_data / "t2s" / "t2s.nii.gz"), "-c", "t2s"])
    assert code == 1 and line.startswith("ERROR:")
    if installed("t2s_sc.h5"):
        assert "not implemented" in line and "sct_propseg" in line
    else:  # offline: names the file, the URL and the mirror variable
        assert "t2s_sc.h5" in line and "https://" in line and "SCT_DATA_MIRROR" in line
    assert not (in_tmp / "t2s_seg.nii.gz").exists()


def test_bad_options(sct_testing_data, in_tmp, capsys):
    t2 = str(sct_testing_data / "t2" / "t2.nii.gz")
    if not installed("t1_ctr.h5"):
        code, line = run_error(main, capsys, ["-i", t2, "-c", "t1", "-centerline-only"])
        assert code == 1 and "t1_ctr.h5" in line and "-centerline file" in line
    code, line = run_error(main, capsys, ["-i", t2, "-c", "t2ss"])
    assert code == 1 and "Did you mean" in line
    code, line = run_error(main, capsys, ["-i", t2, "-c", "t2", "-centerline", "viewer"])
    assert code == 1 and "viewer" in line
    code, line = run_error(main, capsys, ["-i", t2, "-c", "t2", "-centerline", "file"])
    assert code == 1 and "-file_centerline" in line
    noise = Image(np.random.default_rng(0).normal(100, 20, (40, 40, 6)).astype(np.float32),
                  affine=np.diag([0.8, 0.8, 3, 1]))
    noise.save(str(in_tmp / "noise.nii.gz"))
    code, line = run_error(main, capsys, ["-i", "noise.nii.gz", "-c", "t2s", "-centerline-only"])
    assert code == 1 and "no spinal cord" in line and not (in_tmp / "noise_centerline.nii.gz").exists()
