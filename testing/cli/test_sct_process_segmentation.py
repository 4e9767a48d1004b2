"""sct_process_segmentation command: CSV layout, aggregation options, PAM50 plot, errors."""
import csv
import subprocess
import sys

import numpy as np
import pytest

from spinalcordtoolbox.scripts.sct_process_segmentation import main

HEADER = ("Timestamp,SCT Version,Filename,Slice (I->S),VertLevel,DistancePMJ,MEAN(area),STD(area),"
          "MEAN(angle_AP),STD(angle_AP),MEAN(angle_RL),STD(angle_RL),MEAN(diameter_AP),"
          "STD(diameter_AP),MEAN(diameter_RL),STD(diameter_RL),MEAN(eccentricity),"
          "STD(eccentricity),MEAN(orientation),STD(orientation),MEAN(solidity),STD(solidity),"
          "MEAN(diameter_AP_ellipse),STD(diameter_AP_ellipse),MEAN(length_anterior),"
          "STD(length_anterior),MEAN(length_posterior),STD(length_posterior),"
          "SUM(length)").split(",")


def _read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.fixture
def t2(sct_testing_data):
    return sct_testing_data / "t2"


def test_default_whole_cord(t2, in_tmp):
    assert main(["-i", str(t2 / "t2_seg-manual.nii.gz"), "-v", "0"]) == 0
    header, rows = _read(in_tmp / "csa.csv")
    assert header == HEADER
    (row,) = rows
    assert row["Slice (I->S)"] == "0:54" and row["VertLevel"] == "" and row["DistancePMJ"] == ""
    assert row["Filename"] == str(t2 / "t2_seg-manual.nii.gz")
    # angle-corrected mean CSA: reference 77.55 mm2 (voxel count x cos, see api tests)
    assert 77.4 < float(row["MEAN(area)"]) < 77.7
    # 55 slices of 1 mm along a slightly tilted cord
    assert 55 < float(row["SUM(length)"]) < 55.5


def test_perlevel_vert_append(t2, in_tmp):
    args = ["-i", str(t2 / "t2_seg-manual.nii.gz"), "-vertfile", str(t2 / "t2_seg-manual_labeled.nii.gz"),
            "-vert", "2:3", "-o", "out.csv", "-v", "0"]
    main(args + ["-perlevel", "1"])
    _, rows = _read("out.csv")
    assert [(r["Slice (I->S)"], r["VertLevel"]) for r in rows] == [("18:35", "3"), ("36:52", "2")]
    main(args + ["-append", "1"])
    _, rows2 = _read("out.csv")
    assert len(rows2) == 3 and (rows2[2]["Slice (I->S)"], rows2[2]["VertLevel"]) == ("18:52", "2:3")
    # the combined mean is the slice-weighted mean of the two levels (18 and 17 slices)
    both = (18 * float(rows[0]["MEAN(area)"]) + 17 * float(rows[1]["MEAN(area)"])) / 35
    np.testing.assert_allclose(float(rows2[2]["MEAN(area)"]), both, rtol=1e-9)


def test_perslice_and_z(t2, in_tmp):
    main(["-i", str(t2 / "t2_seg-manual.nii.gz"), "-perslice", "1", "-z", "10:12", "-v", "0"])
    _, rows = _read("csa.csv")
    assert [r["Slice (I->S)"] for r in rows] == ["10", "11", "12"]
    assert all(r["STD(area)"] == "0.0" for r in rows)   # as the healthy-database files
    main(["-i", str(t2 / "t2_seg-manual.nii.gz"), "-z", "10:12", "-o", "z.csv", "-v", "0"])
    _, (row,) = _read("z.csv")
    assert row["Slice (I->S)"] == "10:12"
    np.testing.assert_allclose(float(row["MEAN(area)"]),
                               np.mean([float(r["MEAN(area)"]) for r in rows]), rtol=1e-9)


def test_pmj(sct_testing_data, in_tmp):
    tpl = sct_testing_data / "template" / "template"
    main(["-i", str(tpl / "PAM50_small_cord.nii.gz"), "-pmj", str(tpl / "PAM50_small_t2_pmj_manual.nii.gz"),
          "-pmj-distance", "64", "-pmj-extent", "30", "-v", "0"])
    _, (row,) = _read("csa.csv")
    assert float(row["DistancePMJ"]) == 64
    lo, hi = (int(v) for v in row["Slice (I->S)"].split(":"))
    # PMJ at slice 257 of 2 mm: 64 +/- 15 mm lies about 25-40 slices below it
    assert 215 <= lo <= 222 and 229 <= hi <= 236
    assert 60 < float(row["MEAN(area)"]) < 75
    assert 29 < float(row["SUM(length)"]) < 33


def test_normalize_pam50_and_plot(t2, in_tmp, pam50, pam50_normalized_metrics, monkeypatch, tmp_path):
    # point the data cache at the read-only shared copies (no install, no copy)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "PAM50").symlink_to(pam50)
    (cache / "PAM50_normalized_metrics").symlink_to(pam50_normalized_metrics)
    monkeypatch.setenv("SCT_DATA_DIR", str(cache))
    main(["-i", str(t2 / "t2_seg-manual.nii.gz"), "-vertfile", str(t2 / "t2_seg-manual_labeled.nii.gz"),
          "-normalize-PAM50", "1", "-o", "norm.csv", "-v", "0"])
    header, rows = _read("norm.csv")
    # the established output: the 138 PAM50 slices of C2-C5, 112 with values (C5 is partial)
    assert header == HEADER and len(rows) == 138
    area = {int(r["Slice (I->S)"]): float(r["MEAN(area)"]) for r in rows if r["MEAN(area)"]}
    levels = {int(r["Slice (I->S)"]): r["VertLevel"] for r in rows}
    assert len(area) == 112 and {levels[z] for z in area} == {"2", "3", "4", "5"}
    # plausibility against the 203 healthy controls at the same PAM50 slices (C2-C4 mean
    # about 75 mm2, SD about 8-9): the subject stays within 2.5 SD everywhere
    from spinalcordtoolbox.shape.hc_database import hc_slice_stats, load_hc
    stats = hc_slice_stats(load_hc(pam50_normalized_metrics, metrics=["area"]), "area")
    z = np.array(sorted(area))
    zscore = (np.array([area[k] for k in z]) - stats.loc[z, "mean"]) / stats.loc[z, "std"]
    assert np.all(np.abs(zscore) < 2.5)
    png = in_tmp / "norm_PAM50_area.png"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("case", ["empty", "vertfile_shape", "vert_absent", "4d", "not_nifti", "missing"])
def test_bad_input(case, t2, in_tmp, capsys):
    from spinalcordtoolbox.image import Image
    seg = str(t2 / "t2_seg-manual.nii.gz")
    ref = Image(seg)
    args = ["-i", seg]
    if case == "empty":
        Image(np.zeros(ref.data.shape, np.uint8), hdr=ref.hdr, affine=ref.affine).save("empty.nii.gz")
        args = ["-i", "empty.nii.gz"]
    elif case == "vertfile_shape":
        Image(np.zeros((10, 10, 10), np.uint8)).save("small.nii.gz")
        args += ["-vertfile", "small.nii.gz", "-vert", "2:3"]
    elif case == "vert_absent":
        args += ["-vertfile", str(t2 / "t2_seg-manual_labeled.nii.gz"), "-vert", "7:8"]
    elif case == "4d":
        Image(np.ones((5, 5, 5, 2), np.uint8)).save("4d.nii.gz")
        args = ["-i", "4d.nii.gz"]
    elif case == "not_nifti":
        with open("seg.txt", "w") as f:
            f.write("x")
        args = ["-i", "seg.txt"]
    elif case == "missing":
        args = ["-i", "nope.nii.gz"]
    with pytest.raises(SystemExit) as e:
        main(args + ["-v", "0"])
    assert e.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err and len(err[-1]) < 300
    expected = {"empty": "empty", "vertfile_shape": "different dimensions", "vert_absent": "7,8",
                "4d": "4-D", "not_nifti": "NIfTI", "missing": "not found"}[case]
    assert expected in err[-1]
    assert not (in_tmp / "csa.csv").exists()


def test_help_is_light():
    code = ("import sys; from spinalcordtoolbox.scripts import sct_process_segmentation as m; "
            "m.get_parser().format_help(); "
            "heavy = {'torch', 'ants', 'dipy', 'matplotlib', 'nnunetv2', 'skimage', 'pandas', 'scipy'}"
            " & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    from spinalcordtoolbox.scripts.sct_process_segmentation import get_parser
    assert max(len(line) for line in get_parser().format_help().splitlines()) <= 100


def test_qc_entry(t2, in_tmp):
    main(["-i", str(t2 / "t2_seg-manual.nii.gz"), "-qc", "qc", "-qc-image", str(t2 / "t2.nii.gz"),
          "-z", "20:30", "-v", "0"])
    entries = [p for p in (in_tmp / "qc").rglob("*") if p.is_dir() and "sct_process_segmentation" in p.parts]
    assert entries, "no QC entry folder"
    assert any(p.suffix == ".png" for e in entries for p in e.rglob("*"))
    assert (in_tmp / "csa.csv").is_file()
    # axial mosaic of the 55 slices holding cord: 80-px tiles (40 mm at 0.5 mm), 12 per row
    # (960 px max width) -> 5 rows: 960 x 400 px, and every tile shows its fitted ellipse
    from PIL import Image as PILImage

    from spinalcordtoolbox.shape.morphometry import QC_ELLIPSE_COLOUR
    overlay = next(p for e in entries for p in e.rglob("overlay.png"))
    with PILImage.open(overlay) as png:
        assert png.size == (960, 400)
        rgba = np.asarray(png.convert("RGBA")).astype(int)
    yellow = [int(QC_ELLIPSE_COLOUR[i:i + 2], 16) for i in (1, 3, 5)]
    is_outline = (np.abs(rgba[..., :3] - yellow).max(axis=-1) <= 5) & (rgba[..., 3] == 255)
    per_tile = is_outline.reshape(5, 80, 12, 80).sum(axis=(1, 3)).ravel()[:55]
    # a cord section of ~12 x 8 mm has a ~60-px outline at 0.5 mm per pixel
    assert per_tile.min() > 30


def test_discfile_levels(sct_testing_data, in_tmp):
    tpl = sct_testing_data / "template" / "template"
    common = ["-i", str(tpl / "PAM50_small_cord.nii.gz"), "-vert", "3:4", "-perlevel", "1", "-v", "0"]
    main(common + ["-discfile", str(tpl / "PAM50_small_label_disc.nii.gz"), "-o", "disc.csv"])
    main(common + ["-vertfile", str(tpl / "PAM50_small_levels.nii.gz"), "-o", "vert.csv"])
    _, disc = _read("disc.csv")
    _, vert = _read("vert.csv")
    assert [r["VertLevel"] for r in disc] == [r["VertLevel"] for r in vert] == ["4", "3"]
    # levels from discs (C3-C4 disc at slice 218, C4-C5 at 209...) match the level image
    # within one slice at each boundary, so the per-level CSA agrees within 1 %
    for a, b in zip(disc, vert):
        np.testing.assert_allclose(float(a["MEAN(area)"]), float(b["MEAN(area)"]), rtol=0.01)


def test_pmj_cube_as_established_toolbox(in_tmp):
    # the established toolbox's own check: a 15-voxel cube (slices 9-23), PMJ 5 slices above it;
    # -pmj-distance 8 -pmj-extent 4 gives slices 18:21, SUM(length) 4.0 (straight cube)
    from spinalcordtoolbox.image import Image
    cube = np.zeros((32, 32, 32), np.uint8)
    cube[9:24, 9:24, 9:24] = 1
    pmj = np.zeros((32, 32, 32), np.uint8)
    pmj[15, 15, 28] = 1
    Image(cube).save("cube.nii.gz")
    Image(pmj).save("pmj.nii.gz")
    main(["-i", "cube.nii.gz", "-pmj", "pmj.nii.gz", "-pmj-distance", "8", "-pmj-extent", "4", "-v", "0"])
    _, (row,) = _read("csa.csv")
    assert (row["Slice (I->S)"], row["DistancePMJ"], row["VertLevel"], row["SUM(length)"]) == \
        ("18:21", "8.0", "", "4.0")
    main(["-i", "cube.nii.gz", "-pmj", "pmj.nii.gz", "-perslice", "1", "-o", "ps.csv", "-v", "0"])
    _, rows = _read("ps.csv")
    row = rows[10]
    assert row["Slice (I->S)"] == "10" and row["SUM(length)"] == "1.0"
    # 18 slices below the PMJ; the centerline bends 1 voxel towards the PMJ: 18.0-18.2 mm
    # (the established toolbox prints 18.11 with its own centerline fit)
    assert 18.0 <= float(row["DistancePMJ"]) <= 18.2


def test_symmetry_perslice_with_qc(t2, in_tmp):
    """The course line '-symmetry 1 -perslice 1 -qc ... -qc-image': one row per cord slice holding
    the library's per-slice symmetry (the measure itself is checked analytically in
    test_compat_conventions.py), a healthy cord near mirror-symmetric, and a QC entry."""
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.shape.process_seg import compute_shape

    seg = t2 / "t2_seg-manual.nii.gz"
    assert main(["-i", str(seg), "-symmetry", "1", "-perslice", "1", "-o", "sym.csv", "-qc", "qc",
                 "-qc-image", str(t2 / "t2.nii.gz"), "-v", "0"]) == 0
    _, rows = _read("sym.csv")
    got = {int(r["Slice (I->S)"]): float(r["MEAN(symmetry_dice)"]) for r in rows if r["MEAN(symmetry_dice)"]}
    assert len(got) == 55                       # the 55 slices holding cord
    metrics, _ = compute_shape(Image(str(seg)), symmetry=True)
    expected = {z: v for z, v in enumerate(metrics["symmetry_dice"]) if np.isfinite(v)}
    assert got.keys() == expected.keys()
    np.testing.assert_allclose([got[z] for z in sorted(got)], [expected[z] for z in sorted(got)], atol=1e-4)
    assert 0.8 < np.median(list(got.values())) <= 1
    assert list((in_tmp / "qc").rglob("entry.json"))
