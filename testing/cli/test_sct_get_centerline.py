"""sct_get_centerline -method fitseg: outputs, agreement with the manual centerline, errors."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts.sct_get_centerline import main


def test_fitseg_outputs(sct_testing_data, in_tmp):
    t2 = sct_testing_data / "t2"
    assert main(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"), "-v", "0"]) == 0
    im = Image("t2_centerline.nii.gz")
    ref = Image(t2 / "t2.nii.gz")
    assert im.data.shape == ref.data.shape and np.allclose(im.affine, ref.affine)
    assert im.orientation == "AIL" and im.data.dtype == np.uint8
    assert int(im.data.sum()) == 55               # one voxel per axial slice
    arr = np.loadtxt("t2_centerline.csv", delimiter=",")
    manual = np.loadtxt(t2 / "t2_centerline-manual.csv", delimiter=",")
    assert arr.shape == manual.shape == (55, 3)
    # within one voxel of the manual centerline on every slice (measured max: 0.81 voxel)
    assert np.abs(arr - manual).max() < 1.0
    # the voxel image agrees with the manual centerline image within one voxel per slice
    man = Image(t2 / "t2_centerline-manual.nii.gz").change_orientation("RPI").data
    got = im.copy().change_orientation("RPI").data
    for z in range(55):
        a, b = np.argwhere(got[:, :, z]), np.argwhere(man[:, :, z])
        assert np.abs(a[0] - b[0]).max() <= 1


@pytest.mark.parametrize("algo", ["polyfit", "linear", "nurbs"])
def test_algos_and_output_name(algo, sct_testing_data, in_tmp):
    seg = sct_testing_data / "t2" / "t2_seg-manual.nii.gz"
    main(["-i", str(seg), "-centerline-algo", algo, "-centerline-smooth", "20", "-o", "ctl.nii.gz",
          "-v", "0"])
    arr = np.loadtxt("ctl.csv", delimiter=",")
    manual = np.loadtxt(sct_testing_data / "t2" / "t2_centerline-manual.csv", delimiter=",")
    assert np.abs(arr - manual).max() < 1.1


@pytest.mark.parametrize("args,msg", [
    (["-centerline-algo", "bsplin"], "Did you mean 'bspline'"),
    (["-method", "optik"], "Did you mean 'optic'"),
])
def test_errors(args, msg, sct_testing_data, in_tmp, capsys):
    with pytest.raises(SystemExit) as e:
        main(["-i", str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"), "-v", "0"] + args)
    assert e.value.code == 1
    assert msg in capsys.readouterr().err
    assert not list(in_tmp.iterdir())


def test_empty_seg(in_tmp, capsys):
    Image(np.zeros((8, 8, 8), np.uint8)).save("empty.nii.gz")
    with pytest.raises(SystemExit):
        main(["-i", "empty.nii.gz", "-v", "0"])
    assert "empty" in capsys.readouterr().err
    assert sorted(p.name for p in in_tmp.iterdir()) == ["empty.nii.gz"]
