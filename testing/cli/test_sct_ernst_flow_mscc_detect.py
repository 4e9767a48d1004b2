"""sct_compute_ernst_angle, sct_compute_flow, sct_compute_mscc, sct_detect_compression."""
import csv

import numpy as np
import pytest

from spinalcordtoolbox.image import Image


def test_ernst_angle(in_tmp):
    from spinalcordtoolbox.scripts.sct_compute_ernst_angle import main

    assert main(["-tr", "2000", "-t1", "850", "-o", "ernst_angle.txt", "-v", "0"]) == 0
    # the established toolbox's expected value
    assert float((in_tmp / "ernst_angle.txt").read_text()) == pytest.approx(84.543553255, abs=1e-8)


def test_flow_velocity_from_int13_phase(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts.sct_compute_flow import main

    src = sct_testing_data / "qmri" / "venc.nii.gz"
    assert main(["-i", str(src), "-venc", "20", "-v", "0"]) == 0
    out = Image("venc_velocity.nii.gz")
    phase = Image(str(src)).data.astype(float)
    # Siemens 13-bit phase: -4096..4095 <-> -pi..pi, velocity = phase / pi * VENC
    np.testing.assert_allclose(out.data, phase / 4096 * 20, rtol=1e-6, atol=1e-5)
    assert -20 <= out.data.min() < out.data.max() <= 20 and out.data.shape == (256, 256, 1, 3)


def test_flow_radians_and_bad_range():
    from spinalcordtoolbox.metrics.qmri import phase_to_velocity
    from spinalcordtoolbox.utils.cli import SCTError

    rad = Image(np.array([[[-np.pi, -np.pi / 2, 0.25, np.pi]]]), affine=np.eye(4))
    np.testing.assert_allclose(phase_to_velocity(rad, 50).data[0, 0], [-50, -25, 50 * 0.25 / np.pi, 50],
                               rtol=1e-6)
    with pytest.raises(SCTError, match="neither radians"):
        phase_to_velocity(Image(np.array([[[0.0, 9000.0]]]), affine=np.eye(4)), 20)


def test_mscc(capsys):
    from spinalcordtoolbox.scripts.sct_compute_mscc import main

    assert main(["-di", "6.85", "-da", "7.65", "-db", "7.02"]) == 0
    value = float(capsys.readouterr().out.split("MSCC =")[1])
    assert value == pytest.approx(6.612133606, abs=1e-6)     # (1 - 6.85 / 7.335) x 100


def test_compression_model_and_torsion():
    from spinalcordtoolbox.shape.detect_compression import category, compression_probability, torsion

    # logit 0 -> p = 0.5 ("yes"): CR 100, CSA 0, solidity 100 leaves 57.501 - 27.3 - 40.8 = -10.599
    assert compression_probability(100, 0, 100, 10.599 / 2.168, 5) == pytest.approx(0.5, abs=1e-6)
    assert compression_probability(100, 0, 100, 10.599 / 2.168, 7) == pytest.approx(
        1 / (1 + np.exp(2.729)), abs=1e-6)                    # C6/C7 term
    assert [category(p) for p in (0.5, 0.4, 0.3)] == ["yes", "possible", "no"]
    orient = np.array([0, 1, 3, 6, 10, 15, 21, 28.0])
    # slice 4: |10-6|+|10-15|+|6-3|+|15-21|+|3-1|+|21-28| = 27 -> 4.5
    assert torsion(orient, 4) == pytest.approx(4.5)
    assert torsion(orient, 2) is None and torsion(orient, 5) is None


def test_detect_compression_t2(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts.sct_detect_compression import main

    t2 = sct_testing_data / "t2"
    # labels.nii.gz holds discs 3 (not covered by the model) and 5 (C4/C5, at RPI slice 9)
    assert main(["-s", str(t2 / "t2_seg-manual.nii.gz"), "-discfile", str(t2 / "labels.nii.gz"),
                 "-num-of-slices", "1", "-o", "c.csv", "-v", "0"]) == 0
    with open("c.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["Disc"], r["Axial slice #"]) for r in rows] == [("C4/C5", "10"), ("C4/C5", "9"), ("C4/C5", "8")]
    mid = rows[1]
    # established toolbox on the same slice: CSA 78.532, CR 62.53 %, solidity 96.875 %, p 0.0110
    assert float(mid["CSA (mm2)"]) == pytest.approx(78.532, rel=0.002)
    assert float(mid["Compression ratio (%)"]) == pytest.approx(62.53, rel=0.03)
    assert float(mid["Solidity (%)"]) == pytest.approx(96.875, abs=1.0)
    assert float(mid["Compression probability"]) == pytest.approx(0.0110, abs=0.005)
    assert {r["Compression probability category"] for r in rows} == {"no"}


def test_detect_compression_errors(sct_testing_data, in_tmp, capsys):
    from spinalcordtoolbox.scripts.sct_detect_compression import main

    t2 = sct_testing_data / "t2"
    im = Image(str(t2 / "t2_seg-manual.nii.gz"))
    Image(np.zeros(im.data.shape, np.uint8), hdr=im.hdr, affine=im.affine).save("empty.nii.gz", verbose=False)
    seg, discs = str(t2 / "t2_seg-manual.nii.gz"), str(t2 / "labels.nii.gz")
    for args, message in ((["-s", "empty.nii.gz", "-discfile", discs], "segmentation file is empty"),
                          (["-s", seg, "-discfile", "empty.nii.gz"], "Disc file is empty")):
        with pytest.raises(SystemExit) as e:
            main(args + ["-o", "x.csv"])
        assert e.value.code == 1 and message in capsys.readouterr().err
    assert not (in_tmp / "x.csv").exists()
