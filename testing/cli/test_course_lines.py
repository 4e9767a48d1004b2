"""The course's command lines of the compatibility issue, as written, on sct_testing_data.

Each line is the course's text with only the file names of the course data replaced by
sct_testing_data files copied under those names (t2s_gmseg.nii.gz is t2s_gmseg_manual, ...),
and coordinates of -create labels put on this data's grid. ``~`` is a temporary home folder.
Each line is run in-process and its outputs are checked.
"""
import csv
import importlib
import os
import shlex
import shutil
import zipfile

import numpy as np
import pytest

from spinalcordtoolbox.image import Image

COPIES = {
    "t2.nii.gz": "t2/t2.nii.gz", "t2_seg.nii.gz": "t2/t2_seg-manual.nii.gz",
    "t2_step1_levels.nii.gz": "t2/labels.nii.gz", "t2_seg_labeled.nii.gz": "t2/t2_seg-manual_labeled.nii.gz",
    "t2s_seg.nii.gz": "t2s/t2s_seg.nii.gz", "t2s_gmseg.nii.gz": "t2s/t2s_gmseg_manual.nii.gz",
    "mt1.nii.gz": "mt/mt1.nii.gz", "mt1_seg.nii.gz": "mt/mt1_seg.nii.gz", "fmri.nii.gz": "fmri/fmri.nii.gz",
    "dmri_dwi_mean.nii.gz": "dmri/dwi_mean.nii.gz",
    "dmri_dwi_mean_seg.nii.gz": "dmri/dwi_mean_centerline-optic.nii.gz",
    "t1.nii.gz": "t1/t1w.nii.gz", "t1_seg.nii.gz": "t1/t1w_seg-manual.nii.gz",
    "t2_lesion_seg.nii.gz": "t2/t2_fake_lesion_lesion_seg.nii.gz",
    "t2_sc_seg.nii.gz": "t2/t2_fake_lesion_sc_seg.nii.gz", "t2_lesioned.nii.gz": "t2/t2_fake_lesion.nii.gz",
}


def run_line(line, home):
    """Run one course command line in-process; returns the exit code."""
    argv = [os.path.expanduser(t) if t.startswith("~") else t for t in shlex.split(line)]
    module = importlib.import_module(f"spinalcordtoolbox.scripts.{argv[0]}")
    try:
        return module.main(argv[1:]) or 0
    except SystemExit as e:
        return e.code


@pytest.fixture(scope="module")
def course(sct_testing_data, pam50, pam50_normalized_metrics, tmp_path_factory):
    work = tmp_path_factory.mktemp("course")
    for name, rel in COPIES.items():
        shutil.copy(sct_testing_data / rel, work / name)
    home = tmp_path_factory.mktemp("home")
    cache = tmp_path_factory.mktemp("cache")
    (cache / "PAM50").symlink_to(pam50)
    (cache / "PAM50_normalized_metrics").symlink_to(pam50_normalized_metrics)
    mirror = tmp_path_factory.mktemp("mirror")
    for name, inner in (("manual-correction", "manual-correction-r20231101/manual_correction.py"),
                        ("sct_course_data", "sct_tutorial_data-r20250310/single_subject/README.md")):
        with zipfile.ZipFile(mirror / f"{name}.zip", "w") as zf:
            zf.writestr(inner, "x\n")
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", str(home))
    mp.setenv("SCT_DATA_DIR", str(cache))
    mp.setenv("SCT_DATA_MIRROR", str(mirror))
    mp.chdir(work)
    yield work, home
    mp.undo()


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _qc_entries(home):
    return len(list((home / "qc_singleSubj").rglob("entry.json")))


def test_download_lines(course):
    work, home = course
    assert run_line("sct_download_data -d sct_course_data -o sct_course_data", home) == 0
    assert (work / "sct_course_data" / "single_subject" / "README.md").is_file()
    assert run_line("sct_download_data -d manual-correction -o manual-correction", home) == 0
    assert (work / "manual-correction" / "manual_correction.py").is_file()


def test_shape_lines(course):
    work, home = course
    assert run_line("sct_process_segmentation -i t2_seg.nii.gz -vert 3:4 -discfile t2_step1_levels.nii.gz "
                    "-o csa_c3c4.csv", home) == 0
    (row,) = _rows("csa_c3c4.csv")
    assert row["VertLevel"] == "3:4" and 60 < float(row["MEAN(area)"]) < 90
    assert run_line("sct_process_segmentation -i t2_seg.nii.gz -vert 3:4 -discfile t2_step1_levels.nii.gz "
                    "-perlevel 1 -o csa_perlevel.csv", home) == 0
    assert [r["VertLevel"] for r in _rows("csa_perlevel.csv")] == ["4", "3"]
    assert run_line("sct_process_segmentation -i t2_seg.nii.gz -z 30:35 -discfile t2_step1_levels.nii.gz "
                    "-perslice 1 -o csa_perslice.csv", home) == 0
    assert [r["Slice (I->S)"] for r in _rows("csa_perslice.csv")] == [str(z) for z in range(30, 36)]
    # the course shows the option alone: the usage, exit 2
    assert run_line("sct_process_segmentation -normalize-PAM50", home) == 2
    assert run_line("sct_process_segmentation -i t2_seg.nii.gz -discfile t2_step1_levels.nii.gz -perslice 1 "
                    "-normalize-PAM50 1 -o csa_PAM50.csv", home) == 0
    rows = _rows("csa_PAM50.csv")
    assert rows and {r["VertLevel"] for r in rows} <= {"2", "3", "4", "5"}
    assert run_line("sct_process_segmentation -symmetry", home) == 2
    assert run_line("sct_process_segmentation -i t2_seg.nii.gz -symmetry 1 -perslice 1 -o sym.csv "
                    "-qc ~/qc_singleSubj -qc-image t2.nii.gz", home) == 0
    dice = [float(r["MEAN(symmetry_dice)"]) for r in _rows("sym.csv") if r["MEAN(symmetry_dice)"]]
    assert len(dice) == 55 and 0.8 < np.median(dice) <= 1


def test_compression_lines(course):
    work, home = course
    # compression label at RPI slice 27 (mid C3) of t2, written in t2's own voxel coordinates
    t2 = Image("t2.nii.gz")
    rpi = Image(np.zeros(t2.data.shape, np.uint8), hdr=t2.hdr, affine=t2.affine).change_orientation("RPI")
    rpi.data[26, 27, 27] = 1
    x, y, z, _ = rpi.change_orientation(t2.orientation).nonzero_coords()[0].astype(int)
    assert run_line(f"sct_label_utils -i t2.nii.gz -create {x},{y},{z},1.0 -o t2_labels-compression.nii.gz",
                    home) == 0
    assert run_line("sct_compute_compression -i t2_seg.nii.gz -vertfile t2_seg_labeled.nii.gz "
                    "-l t2_labels-compression.nii.gz -metric diameter_AP -normalize-hc 0 -o ap_ratio.csv",
                    home) == 0
    (row,) = _rows("ap_ratio.csv")
    assert row["compression_level"] == "3" and abs(float(row["diameter_AP_ratio"]) - (-4.71)) < 0.1
    assert run_line("sct_compute_compression -i t2_seg.nii.gz -vertfile t2_seg_labeled.nii.gz "
                    "-l t2_labels-compression.nii.gz -metric diameter_AP -normalize-hc 1 "
                    "-o ap_ratio_norm_PAM50.csv", home) == 0
    (row,) = _rows("ap_ratio_norm_PAM50.csv")
    assert abs(float(row["diameter_AP_ratio_PAM50_normalized"])) < 8


def test_label_mask_qc_lines(course):
    work, home = course
    assert run_line("sct_label_utils -i t2_step1_levels.nii.gz -keep 3,5 -o t2_labels_vert.nii.gz", home) == 0
    assert sorted(Image("t2_labels_vert.nii.gz").nonzero_coords()[:, 3].tolist()) == [3, 5]
    before = _qc_entries(home)
    assert run_line("sct_qc -i t2.nii.gz -s t2_labels_vert.nii.gz -p sct_label_utils -qc ~/qc_singleSubj",
                    home) == 0
    # the lumbar lines, with two labels on this image's grid
    assert run_line("sct_label_utils -i t2.nii.gz -create 30,50,26,17:30,5,26,60 -o t2_lumbar_labels.nii.gz "
                    "-qc ~/qc_singleSubj", home) == 0
    assert run_line("sct_qc -i t2.nii.gz -s t2_lumbar_labels.nii.gz -p sct_label_utils -qc ~/qc_singleSubj",
                    home) == 0
    assert _qc_entries(home) == before + 3
    assert run_line("sct_create_mask -i mt1.nii.gz -p centerline,mt1_seg.nii.gz -size 35mm -f cylinder "
                    "-o mask_mt1.nii.gz", home) == 0
    mask, seg = Image("mask_mt1.nii.gz"), Image("mt1_seg.nii.gz")
    assert mask.data[seg.data > 0].min() == 1
    assert run_line("sct_label_utils -i mt1_seg.nii.gz -create-seg-mid 4 -o label_c3c4.nii.gz", home) == 0
    (pt,) = Image("label_c3c4.nii.gz").change_orientation("RPI").nonzero_coords()
    assert pt[2] == round(5 / 2) and pt[3] == 4
    assert run_line("sct_create_mask -i dmri_dwi_mean.nii.gz -p centerline,dmri_dwi_mean_seg.nii.gz -size 35mm",
                    home) == 0
    assert Image("mask_dmri_dwi_mean.nii.gz").data.shape == Image("dmri_dwi_mean.nii.gz").data.shape


def test_maths_lines(course):
    work, home = course
    assert run_line("sct_maths -i t2s_seg.nii.gz -sub t2s_gmseg.nii.gz -thr 0 -o t2s_wmseg.nii.gz", home) == 0
    wm = Image("t2s_wmseg.nii.gz").data
    sc, gm = Image("t2s_seg.nii.gz").data.astype(int), Image("t2s_gmseg.nii.gz").data.astype(int)
    assert wm.min() == 0 and np.array_equal(wm, np.clip(sc - gm, 0, None))
    assert run_line("sct_maths -i fmri.nii.gz -mean t -o fmri_mean.nii.gz", home) == 0
    fmri = Image("fmri.nii.gz").data
    np.testing.assert_allclose(Image("fmri_mean.nii.gz").data, fmri.mean(axis=3))


def test_other_tools_lines(course):
    work, home = course
    assert run_line("sct_image -stitch", home) == 2
    assert run_line("sct_smooth_spinalcord -i t1.nii.gz -s t1_seg.nii.gz", home) == 0
    assert Image("t1_smooth.nii.gz").data.shape == Image("t1.nii.gz").data.shape
    assert run_line("sct_flatten_sagittal -i t1.nii.gz -s t1_seg.nii.gz", home) == 0
    assert Image("t1_flatten.nii.gz").data.shape == Image("t1.nii.gz").data.shape


def test_lesion_and_ascor_lines(course):
    work, home = course
    before = _qc_entries(home)
    assert run_line("sct_analyze_lesion -m t2_lesion_seg.nii.gz -s t2_sc_seg.nii.gz -qc ~/qc_singleSubj",
                    home) == 0
    assert (work / "t2_lesion_seg_analysis.xlsx").is_file() and _qc_entries(home) == before + 1
    assert run_line("sct_analyze_lesion -f", home) == 2
    # the canal: the cord dilated by 3 voxels (this data has no canal segmentation)
    assert run_line("sct_maths -i t2_seg.nii.gz -dilate 3 -o t2_canal_seg.nii.gz", home) == 0
    # the course runs sct_warp_template before: its levels are in ./label/template (here, the
    # labeled segmentation stands for them)
    (work / "label" / "template").mkdir(parents=True)
    shutil.copy("t2_seg_labeled.nii.gz", work / "label" / "template" / "PAM50_levels.nii.gz")
    assert run_line("sct_compute_ascor -i-SC t2_seg.nii.gz -i-canal t2_canal_seg.nii.gz -perlevel -1 "
                    "-o ascor.csv", home) == 0
    rows = _rows("ascor.csv")
    assert [r["VertLevel"] for r in rows] == ["5", "4", "3", "2"]
    assert all(0.2 < float(r["MEAN(aSCOR)"]) < 0.8 for r in rows)
