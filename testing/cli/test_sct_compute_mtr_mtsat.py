"""sct_compute_mtr and sct_compute_mtsat on sct_testing_data/mt."""
import shutil

import numpy as np
import pytest

from spinalcordtoolbox.image import Image


def test_mtr_reproduces_the_data_mtr(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts.sct_compute_mtr import main

    mt = sct_testing_data / "mt"
    # mt/mtr.nii.gz was computed from these two images by the established toolbox
    assert main(["-mt0", str(mt / "mt0_reg_slicereg_goldstandard.nii.gz"), "-mt1", str(mt / "mt1.nii.gz"),
                 "-v", "0"]) == 0
    out = Image("mtr.nii.gz")
    ref = Image(str(mt / "mtr.nii.gz")).data
    finite = np.isfinite(ref)
    # that (older) file is not clipped: 24 voxels below -100 (tiny mt0), clipped to -100 here
    inside = finite & (np.abs(ref) <= 100)
    np.testing.assert_allclose(out.data[inside], ref[inside], rtol=1e-6, atol=1e-4)
    assert (finite & ~inside).sum() == 24 and np.all(out.data[finite & ~inside] == -100)
    assert np.isnan(out.data[~finite]).all() and (~finite).sum() == 633   # mt0 = 0 there
    assert out.orientation == Image(str(mt / "mt1.nii.gz")).orientation
    with pytest.raises(SystemExit):   # never overwrites an input
        main(["-mt0", str(mt / "mt0.nii.gz"), "-mt1", str(mt / "mt1.nii.gz"), "-o", str(mt / "mt1.nii.gz")])


def test_mtsat_matches_established_means(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts.sct_compute_mtsat import main

    mt = sct_testing_data / "mt"
    args = ["-mt", str(mt / "mt1.nii.gz"), "-pd", str(mt / "mt0.nii.gz"), "-t1", str(mt / "t1w.nii.gz"), "-v", "0"]
    assert main(args) == 0          # TR and flip angles from the JSON sidecars
    mtsat, t1 = Image("mtsat.nii.gz").data, Image("t1map.nii.gz").data
    assert float(np.mean(mtsat)) == pytest.approx(1.95260, rel=1e-3)
    assert float(np.mean(t1)) == pytest.approx(1.19375, rel=1e-3)
    # the same values given on the command line
    assert main(args + ["-trmt", "0.030", "-trpd", "0.030", "-trt1", "0.015", "-famt", "9", "-fapd", "9",
                        "-fat1", "15", "-omtsat", "b.nii.gz", "-ot1map", "c.nii.gz"]) == 0
    np.testing.assert_array_equal(Image("b.nii.gz").data, mtsat)


def test_mtsat_without_sidecar_needs_the_flags(sct_testing_data, in_tmp, capsys):
    from spinalcordtoolbox.scripts.sct_compute_mtsat import main

    mt = sct_testing_data / "mt"
    for name in ("mt1", "mt0", "t1w"):
        shutil.copy(mt / f"{name}.nii.gz", in_tmp / f"{name}.nii.gz")
    with pytest.raises(SystemExit) as e:
        main(["-mt", "mt1.nii.gz", "-pd", "mt0.nii.gz", "-t1", "t1w.nii.gz"])
    assert e.value.code == 1 and "-trmt is needed" in capsys.readouterr().err
    assert not (in_tmp / "mtsat.nii.gz").exists()
