"""sct_analyze_lesion command: label image and XLSX outputs."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts.sct_analyze_lesion import main


def test_fake_lesion_outputs(sct_testing_data, in_tmp):
    t2 = sct_testing_data / "t2"
    assert main(["-m", str(t2 / "t2_fake_lesion_lesion_seg.nii.gz"),
                 "-s", str(t2 / "t2_fake_lesion_sc_seg.nii.gz"), "-ofolder", "out", "-v", "0"]) == 0
    lab = Image("out/t2_fake_lesion_lesion_seg_label.nii.gz")
    assert lab.orientation == "AIL" and int((lab.data > 0).sum()) == 163
    from openpyxl import load_workbook
    ws = load_workbook("out/t2_fake_lesion_lesion_seg_analysis.xlsx")["measures"]
    rows = list(ws.values)
    header = rows[0]
    assert header[:3] == ("label", "volume [mm3]", "length [mm]") and len(rows) == 2
    np.testing.assert_allclose(rows[1][1], 163 * 0.512, rtol=1e-4)


def test_grid_mismatch(sct_testing_data, in_tmp, capsys):
    t2 = sct_testing_data / "t2"
    with pytest.raises(SystemExit):
        main(["-m", str(t2 / "t2_fake_lesion_lesion_seg.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"),
              "-v", "0"])
    assert "same voxel grid" in capsys.readouterr().err
    assert not list(in_tmp.iterdir())


def test_without_cord_and_with_intensity_image(sct_testing_data, in_tmp):
    from openpyxl import load_workbook

    t2 = sct_testing_data / "t2"
    lesion = t2 / "t2_fake_lesion_lesion_seg.nii.gz"
    image = t2 / "t2_fake_lesion.nii.gz"
    # the course line 'sct_analyze_lesion -m ... -qc ...' without -s: the volume only
    assert main(["-m", str(lesion), "-i", str(image), "-ofolder", "o", "-qc", "qc", "-v", "0"]) == 0
    rows = list(load_workbook("o/t2_fake_lesion_lesion_seg_analysis.xlsx")["measures"].values)
    row = dict(zip(rows[0], rows[1]))
    np.testing.assert_allclose(row["volume [mm3]"], 163 * 0.512, rtol=1e-4)
    assert row["length [mm]"] is None and row["max_axial_damage_ratio []"] is None
    m = Image(str(lesion)).data > 0.5
    values = np.asarray(Image(str(image)).data, float)[m]
    np.testing.assert_allclose(row["mean_t2_fake_lesion"], values.mean(), rtol=1e-6)
    np.testing.assert_allclose(row["std_t2_fake_lesion"], values.std(), rtol=1e-6)
    assert (in_tmp / "qc" / "index.html").is_file()


def test_nli_slice_with_empty_lesion_mask(sct_testing_data, in_tmp):
    from openpyxl import load_workbook

    t2 = sct_testing_data / "t2"
    seg = Image(str(t2 / "t2_seg-manual.nii.gz"))
    Image(np.zeros(seg.data.shape, np.uint8), hdr=seg.hdr, affine=seg.affine).save("empty.nii.gz")
    assert main(["-m", "empty.nii.gz", "-s", str(t2 / "t2_seg-manual.nii.gz"), "-nli-slice", "27",
                 "-ofolder", "o", "-v", "0"]) == 0
    rows = list(load_workbook("o/empty_analysis.xlsx")["measures"].values)
    row = dict(zip(rows[0], rows[1]))
    # expected: the cord's AP extent on its midsagittal (RPI x) slice at RPI slice 27, 1 mm voxels
    rpi = seg.copy().change_orientation("RPI").data > 0
    x_mid = int(round(np.argwhere(rpi[:, :, 27])[:, 0].mean()))
    ap = float(np.count_nonzero(rpi[x_mid, :, 27]))
    assert row["nli_slice"] == 27 and row["sc_ap_diameter [mm]"] == pytest.approx(ap)
    assert row["dorsal_bridge_width [mm]"] == pytest.approx(ap / 2) and 6 <= ap <= 10
    with pytest.raises(SystemExit):      # empty mask without -nli-slice: a clear error
        main(["-m", "empty.nii.gz", "-s", str(t2 / "t2_seg-manual.nii.gz"), "-ofolder", "p", "-v", "0"])
