"""sct_extract_metric on sct_testing_data/mt: values of the established toolbox, CSV layout, errors."""
import csv

import numpy as np
import pytest


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def mt(sct_testing_data):
    return sct_testing_data / "mt"


@pytest.mark.parametrize("method,column,expected", [("wa", "WA()", 32.6404), ("map", "MAP()", 34.2645)])
def test_white_matter_mtr_matches_established(mt, in_tmp, method, column, expected):
    from spinalcordtoolbox.scripts.sct_extract_metric import main

    assert main(["-i", str(mt / "mtr.nii.gz"), "-f", str(mt / "label" / "atlas"), "-l", "51",
                 "-z", "0:4", "-method", method, "-o", "wm.csv", "-v", "0"]) == 0
    rows = _read("wm.csv")
    assert list(rows[0])[:10] == ["Timestamp", "SCT Version", "Filename", "Slice (I->S)", "VertLevel",
                                  "DistancePMJ", "Label", "Size [vox]", column, "STD()"]
    assert len(rows) == 1 and rows[0]["Slice (I->S)"] == "0:4" and rows[0]["Label"] == "white matter"
    assert float(rows[0][column]) == pytest.approx(expected, rel=0.005)
    assert rows[0]["VertLevel"] == "" and rows[0]["DistancePMJ"] == ""


def test_append_perlevel_and_mask(mt, in_tmp):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.scripts.sct_extract_metric import main

    args = ["-i", str(mt / "mtr.nii.gz"), "-f", str(mt / "label" / "atlas"), "-method", "map", "-o", "x.csv",
            "-v", "0"]
    assert main(args + ["-l", "4,5", "-combine", "1", "-vert", "4:5", "-perlevel", "1", "-vertfile",
                        str(mt / "label" / "template" / "PAM50_levels.nii.gz")]) == 0
    assert main(args + ["-l", "52", "-z", "1:3", "-append", "1"]) == 0
    with open("x.csv") as f:
        lines = f.read().splitlines()
    assert len(lines) == 4 and sum(line.startswith("Timestamp") for line in lines) == 1
    rows = _read("x.csv")
    assert [(r["Slice (I->S)"], r["VertLevel"], r["Label"]) for r in rows] == [
        ("1", "5", "4,5"), ("2", "4", "4,5"), ("1:3", "", "gray matter")]
    # a single (soft) mask with -method bin, as in the course: mean of the voxels >= 0.5
    assert main(["-i", str(mt / "mtr.nii.gz"), "-f", str(mt / "mt1_wmseg.nii.gz"), "-method", "bin",
                 "-z", "1:3", "-o", "wm.csv", "-v", "0"]) == 0
    row = _read("wm.csv")[0]
    mtr = Image(str(mt / "mtr.nii.gz")).data[:, :, 1:4].astype(float)
    mask = Image(str(mt / "mt1_wmseg.nii.gz")).data[:, :, 1:4] >= 0.5
    assert row["Label"] == "mt1_wmseg"
    assert float(row["BIN()"]) == pytest.approx(np.mean(mtr[mask & np.isfinite(mtr)]), rel=1e-6)


def test_default_is_per_slice_all_labels(mt, in_tmp):
    from spinalcordtoolbox.scripts.sct_extract_metric import main

    from spinalcordtoolbox.image import Image

    assert main(["-i", str(mt / "mtr.nii.gz"), "-f", str(mt / "label" / "atlas"), "-method", "ml",
                 "-output-map", "ml_map.nii.gz", "-v", "0"]) == 0
    rows = _read("extract_metric.csv")
    assert len(rows) == 37 * 5 and rows[0]["Slice (I->S)"] == "0" and "ML()" in rows[0]
    # the map mixes the per-slice ML values of the 37 labels by their weights
    im_map, mtr = Image("ml_map.nii.gz"), Image(str(mt / "mtr.nii.gz"))
    assert im_map.data.shape == mtr.data.shape and np.allclose(im_map.affine, mtr.affine)
    weights = [Image(str(mt / "label" / "atlas" / f"PAM50_atlas_{k:02d}.nii.gz")).data for k in range(37)]
    x, y, z = np.unravel_index(np.argmax(weights[36]), weights[36].shape)   # in the CSF
    values = [float(r["ML()"] or 0) for r in rows if r["Slice (I->S)"] == str(z)]
    expected = sum(w[x, y, z] * v for w, v in zip(weights, values))
    assert im_map.data[x, y, z] == pytest.approx(expected, rel=1e-5) and expected > 10


def test_list_labels(mt, capsys):
    from spinalcordtoolbox.scripts.sct_extract_metric import main

    with pytest.raises(SystemExit) as e:
        main(["-list-labels", "-f", str(mt / "label" / "atlas")])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "4, WM left lateral corticospinal tract" in out and "51, white matter" in out


@pytest.mark.parametrize("extra,message", [
    (["-l", "77"], "valid ids: 0:36, 50:55"),
    (["-f", "LABEL_PARENT"], "has no info_label.txt"),
    (["-f", "T2SEG"], "different dimensions"),
    (["-l", "51", "-vert", "4"], "vertebral level file"),
])
def test_bad_input_one_line_error_no_csv(mt, sct_testing_data, in_tmp, capsys, extra, message):
    from spinalcordtoolbox.scripts.sct_extract_metric import main

    extra = [str(mt / "label") if a == "LABEL_PARENT" else
             str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz") if a == "T2SEG" else a for a in extra]
    args = ["-i", str(mt / "mtr.nii.gz"), "-f", str(mt / "label" / "atlas"), "-o", "bad.csv"]
    with pytest.raises(SystemExit) as e:
        main(args + extra)
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (in_tmp / "bad.csv").exists()


def test_vert_levels_outside_the_image_are_skipped(mt, in_tmp):
    from spinalcordtoolbox.scripts.sct_extract_metric import main

    # the established toolbox's test: only levels 5 (slice 1) and 4 (slice 2) are in mt
    assert main(["-i", str(mt / "mtr.nii.gz"), "-f", str(mt / "label" / "atlas"), "-l", "51",
                 "-vertfile", str(mt / "label" / "template" / "PAM50_levels.nii.gz"), "-vert", "1:12",
                 "-perlevel", "1", "-method", "wa", "-o", "v.csv", "-v", "0"]) == 0
    rows = _read("v.csv")
    assert [r["VertLevel"] for r in rows] == ["5", "4"] and [r["Slice (I->S)"] for r in rows] == ["1", "2"]
    assert all(float(r["WA()"]) > 0 for r in rows)
