"""sct_deepseg_gm on the real weights and test data (in-process calls of main)."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts.sct_deepseg_gm import main
from helpers.checks import dice, run_error

pytestmark = pytest.mark.usefixtures("model_cache")


def test_gm_default_output_and_qc(sct_testing_data, in_tmp, capsys):
    t2s = sct_testing_data / "t2s" / "t2s.nii.gz"
    assert main(["-i", str(t2s), "-m", "challenge", "-qc", "qc", "-qc-subject", "sub-01"]) == 0
    out = in_tmp / "t2s_gmseg.nii.gz"
    seg, im = Image(out), Image(t2s)
    assert seg.data.shape == im.data.shape and np.allclose(seg.affine, im.affine)
    assert seg.data.dtype == np.uint8 and set(np.unique(seg.data)) <= {0, 1}
    # challenge model: measured 0.894 (Keras original 0.895)
    assert dice(seg.data, Image(sct_testing_data / "t2s" / "t2s_gmseg_manual.nii.gz").data) >= 0.88
    assert list((in_tmp / "qc").rglob("sct_deepseg_gm"))
    assert "fsleyes" in capsys.readouterr().out


def test_gm_probability_map_and_tta(sct_testing_data, in_tmp):
    from spinalcordtoolbox.image import crop_image

    t2s = str(sct_testing_data / "t2s" / "t2s.nii.gz")
    manual = Image(sct_testing_data / "t2s" / "t2s_gmseg_manual.nii.gz").data
    main(["-i", t2s, "-m", "challenge", "-thr", "0", "-o", "prob.nii.gz", "-v", "0"])
    prob = Image("prob.nii.gz").data
    assert prob.dtype == np.float32 and 0 <= prob.min() and prob.max() <= 1
    assert dice(prob > 0.5, manual) >= 0.85
    # TTA (9 runs) on 3 slices to keep the test short
    crop_image(Image(t2s), zmin=3, zmax=5).save(str(in_tmp / "t2s_3.nii.gz"))
    main(["-i", "t2s_3.nii.gz", "-m", "challenge", "-t", "-o", "tta.nii.gz", "-v", "0"])
    main(["-i", "t2s_3.nii.gz", "-m", "challenge", "-t", "-o", "tta2.nii.gz", "-v", "0"])
    tta = Image("tta.nii.gz").data
    assert np.array_equal(tta, Image("tta2.nii.gz").data)  # seeded: reproducible
    assert dice(tta, manual[:, :, 3:6]) >= 0.85


def test_gm_bad_inputs(sct_testing_data, in_tmp, capsys):
    dmri = str(sct_testing_data / "dmri" / "dmri.nii.gz")
    code, line = run_error(main, capsys, ["-i", dmri])
    assert code == 1 and line.startswith("ERROR:") and "4-D" in line
    assert not (in_tmp / "dmri_gmseg.nii.gz").exists()
    code, line = run_error(main, capsys, ["-i", str(sct_testing_data / "t2s" / "t2s.nii.gz"), "-m", "larg"])
    assert code == 1 and "Did you mean 'large'" in line
    code, line = run_error(main, capsys, ["-i", str(sct_testing_data / "t2" / "t2_centerline-manual.csv")])
    assert code == 1 and "NIfTI" in line
    code, _ = run_error(main, capsys, ["-i", "missing.nii.gz"])
    assert code == 2
    t2s = str(sct_testing_data / "t2s" / "t2s.nii.gz")
    code, line = run_error(main, capsys, ["-i", t2s, "-o", t2s])
    assert code == 1 and line.startswith("ERROR:")
    code, line = run_error(main, capsys, ["-i", t2s, "-thr", "1.5"])
    assert code == 1 and "-thr" in line
    code, line = run_error(main, capsys, ["-i", t2s, "-device", "gpu"])
    assert code == 1 and "Allowed: auto, cpu, cuda" in line
    import torch
    if not torch.cuda.is_available():
        code, line = run_error(main, capsys, ["-i", t2s, "-device", "cuda"])
        assert code == 1 and "no GPU" in line
    assert not (in_tmp / "t2s_gmseg.nii.gz").exists()
