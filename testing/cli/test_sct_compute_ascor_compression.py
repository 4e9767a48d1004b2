"""sct_compute_ascor and sct_compute_compression commands: CSV outputs and errors."""
import csv

import numpy as np
import pytest

from spinalcordtoolbox.image import Image


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _tube(path, r_mm, nz=50, b_of_z=None):
    n, p, sub = 40, 0.5, 3
    off = ((np.arange(sub) + 0.5) / sub - 0.5) * p
    X, Y = np.meshgrid(np.arange(n) * p - 9.75, np.arange(n) * p - 9.75, indexing="ij")
    data = np.zeros((n, n, nz), np.float32)
    for z in range(nz):
        b = b_of_z(z) if b_of_z else r_mm
        data[:, :, z] = sum(((X + ox) / r_mm) ** 2 + ((Y + oy) / b) ** 2 <= 1
                            for ox in off for oy in off) / sub ** 2
    Image(data, affine=np.diag([-p, p, 1.0, 1.0])).save(path)


def test_ascor_cli(in_tmp):
    from spinalcordtoolbox.scripts.sct_compute_ascor import main

    _tube("cord.nii.gz", 4.0, nz=8)
    _tube("canal.nii.gz", 6.0, nz=8)
    assert main(["-i-SC", "cord.nii.gz", "-i-canal", "canal.nii.gz", "-perslice", "1", "-v", "0"]) == 0
    rows = _read("ascor.csv")
    assert len(rows) == 8 and rows[0]["Slice (I->S)"] == "0"
    np.testing.assert_allclose([float(r["MEAN(aSCOR)"]) for r in rows], 16 / 36, rtol=0.01)
    with pytest.raises(SystemExit):
        main(["-i-SC", "cord.nii.gz", "-i-canal", "canal.nii.gz", "-perlevel", "1", "-o", "x.csv"])
    assert not (in_tmp / "x.csv").exists()


def test_compression_cli(in_tmp, capsys):
    from spinalcordtoolbox.scripts.sct_compute_compression import main

    # AP semi-axis 4 mm narrowed to 2.5 mm on slices 23-27: diameter_AP ratio 37.5 %
    _tube("seg.nii.gz", 5.0, b_of_z=lambda z: 2.5 if abs(z - 25) <= 2 else 4.0)
    lab = np.zeros((40, 40, 50), np.uint8)
    lab[20, 20, 25] = 1
    Image(lab, affine=np.diag([-0.5, 0.5, 1.0, 1.0])).save("comp.nii.gz")
    main(["-i", "seg.nii.gz", "-l", "comp.nii.gz", "-metric", "diameter_AP", "-v", "0"])
    (row,) = _read("compression_metrics.csv")
    assert row["Slice (I->S)"] == "25" and row["compression_level"] == ""
    np.testing.assert_allclose(float(row["diameter_AP_ratio"]), 37.5, atol=1.5)
    with pytest.raises(SystemExit):
        main(["-i", "seg.nii.gz", "-l", "comp.nii.gz", "-metric", "diametre_AP", "-o", "y.csv"])
    assert "Did you mean 'diameter_AP'" in capsys.readouterr().err
    with pytest.raises(SystemExit):   # normalisation needs the levels
        main(["-i", "seg.nii.gz", "-l", "comp.nii.gz", "-normalize-hc", "1", "-o", "y.csv"])
    assert "-vertfile" in capsys.readouterr().err
    assert not (in_tmp / "y.csv").exists()


def test_ascor_perlevel_without_vertfile_uses_warped_template_levels(in_tmp, capsys):
    from spinalcordtoolbox.scripts.sct_compute_ascor import main

    _tube("cord.nii.gz", 4.0, nz=8)
    _tube("canal.nii.gz", 6.0, nz=8)
    # no levels anywhere: a clear message naming what to do
    with pytest.raises(SystemExit):
        main(["-i-SC", "cord.nii.gz", "-i-canal", "canal.nii.gz", "-perlevel", "-1", "-o", "a.csv"])
    assert "sct_warp_template" in capsys.readouterr().err and not (in_tmp / "a.csv").exists()
    # the course line after sct_warp_template: ./label/template/PAM50_levels.nii.gz is used
    levels = np.zeros((40, 40, 8), np.uint8)
    levels[:, :, :4], levels[:, :, 4:] = 4, 3          # C4 below, C3 above
    (in_tmp / "label" / "template").mkdir(parents=True)
    Image(levels, affine=np.diag([-0.5, 0.5, 1.0, 1.0])).save("label/template/PAM50_levels.nii.gz")
    assert main(["-i-SC", "cord.nii.gz", "-i-canal", "canal.nii.gz", "-perlevel", "-1", "-o", "a.csv"]) == 0
    rows = _read("a.csv")
    assert [r["VertLevel"] for r in rows] == ["4", "3"]     # inferior level first, as sct_process_segmentation
    np.testing.assert_allclose([float(r["MEAN(aSCOR)"]) for r in rows], 16 / 36, rtol=0.01)


def test_compression_lesion_mode(in_tmp):
    from spinalcordtoolbox.scripts.sct_compute_compression import main

    # AP semi-axis 4 mm narrowed to 2.5 mm on slices 23-27 (the lesion's extent)
    _tube("seg.nii.gz", 5.0, b_of_z=lambda z: 2.5 if abs(z - 25) <= 2 else 4.0)
    lesion = np.zeros((40, 40, 50), np.uint8)
    lesion[18:23, 18:23, 23:28] = 1
    Image(lesion, affine=np.diag([-0.5, 0.5, 1.0, 1.0])).save("lesion.nii.gz")
    assert main(["-i", "seg.nii.gz", "-l", "lesion.nii.gz", "-mode", "lesion", "-o", "l.csv", "-v", "0"]) == 0
    (row,) = _read("l.csv")
    # the lesion's centre slice; slabs 10-30 mm beyond its top (27) and bottom (23)
    assert row["Slice (I->S)"] == "25"
    np.testing.assert_allclose(float(row["diameter_AP_ratio"]), 37.5, atol=1.5)


def test_compression_on_t2_matches_established_figure(sct_testing_data, in_tmp):
    """The course's compression line on t2_seg-manual, label at RPI slice 27 (mid C3): the level is
    read from -vertfile and the diameter_AP ratio is the established toolbox's -4.71 % (ours -4.73)."""
    from spinalcordtoolbox.scripts.sct_compute_compression import main

    t2 = sct_testing_data / "t2"
    ref = Image(str(t2 / "t2.nii.gz"))
    rpi = Image(np.zeros(ref.data.shape, np.uint8), hdr=ref.hdr, affine=ref.affine).change_orientation("RPI")
    rpi.data[26, 27, 27] = 1
    rpi.change_orientation(ref.orientation).save("compression.nii.gz")
    assert main(["-i", str(t2 / "t2_seg-manual.nii.gz"), "-vertfile", str(t2 / "t2_seg-manual_labeled.nii.gz"),
                 "-l", "compression.nii.gz", "-metric", "diameter_AP", "-normalize-hc", "0",
                 "-o", "ap_ratio.csv", "-v", "0"]) == 0
    (row,) = _read("ap_ratio.csv")
    assert row["Slice (I->S)"] == "27" and row["compression_level"] == "3"
    np.testing.assert_allclose(float(row["diameter_AP_ratio"]), -4.71, atol=0.1)
