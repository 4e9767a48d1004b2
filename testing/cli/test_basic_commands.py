"""The basic image commands, called in-process: results on sct_testing_data and bad inputs.

Bad input for every command: one-line error on stderr, exit 1 (2 for argparse usage errors
such as a missing file), no output written, inputs untouched.
"""
import os
import shutil

import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts import (sct_compute_hausdorff_distance, sct_convert, sct_create_mask,
                                       sct_crop_image, sct_dice_coefficient, sct_image, sct_label_utils,
                                       sct_maths, sct_merge_images, sct_resample)


def run(main, argv, capsys):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    return rc or 0, out.out, out.err


@pytest.fixture
def data(sct_testing_data, in_tmp):
    """Copies of the inputs in the (temporary) working folder, so that their bytes can be checked."""
    for rel in ("t2/t2.nii.gz", "t2/labels.nii.gz", "t2/t2_seg-manual.nii.gz", "dmri/dmri.nii.gz"):
        shutil.copy(sct_testing_data / rel, in_tmp / os.path.basename(rel))
    (in_tmp / "notes.txt").write_text("not an image\n")
    return in_tmp


# ------------------------------------------------------------------ results
def test_sct_image_orientation(data, capsys):
    rc, out, _ = run(sct_image.main, ["-i", "t2.nii.gz", "-getorient"], capsys)
    assert rc == 0 and out.strip() == "AIL"
    rc, _, _ = run(sct_image.main, ["-i", "t2.nii.gz", "-setorient", "RPI", "-o", "x.nii.gz"], capsys)
    assert rc == 0 and Image("x.nii.gz").data.shape == (52, 60, 55) and Image("x.nii.gz").orientation == "RPI"
    rc, _, _ = run(sct_image.main, ["-i", "t2.nii.gz", "-setorient-data", "RPI", "-o", "y.nii.gz"], capsys)
    y = Image("y.nii.gz")
    assert y.data.shape == (52, 60, 55) and np.allclose(y.affine[:3, 3], Image("t2.nii.gz").affine[:3, 3])


def test_sct_image_split_concat_round_trip(data, capsys):
    rc, _, _ = run(sct_image.main, ["-i", "dmri.nii.gz", "-split", "t", "-o", "parts/dwi.nii.gz"], capsys)
    parts = sorted(os.listdir("parts"))
    assert rc == 0 and parts == [f"dwi_T{i:04d}.nii.gz" for i in range(7)]
    rc, _, _ = run(sct_image.main, ["-i"] + [f"parts/{p}" for p in parts] + ["-concat", "t", "-o", "back.nii.gz"],
                   capsys)
    back, orig = Image("back.nii.gz"), Image("dmri.nii.gz")
    assert rc == 0 and np.array_equal(back.data, orig.data) and np.allclose(back.affine, orig.affine)
    rc, _, _ = run(sct_image.main, ["-i", "dmri.nii.gz", "-keep-vol", "0,2", "-o", "k.nii.gz"], capsys)
    assert np.array_equal(Image("k.nii.gz").data, orig.data[..., [0, 2]])


def test_sct_image_header_flip_type_pad_copy(data, capsys):
    t2 = Image("t2.nii.gz")
    rc, out, _ = run(sct_image.main, ["-i", "t2.nii.gz", "-header"], capsys)
    assert rc == 0 and "orientation     AIL" in out and "dim1            60" in out
    run(sct_image.main, ["-i", "t2.nii.gz", "-flip", "x"], capsys)           # default name, current folder
    assert np.array_equal(Image("t2_flip.nii.gz").data, t2.data[::-1])
    run(sct_image.main, ["-i", "t2.nii.gz", "-type", "float32", "-o", "f.nii.gz"], capsys)
    assert Image("f.nii.gz").data.dtype == np.float32
    rc, _, err = run(sct_image.main, ["-i", "t2.nii.gz", "-type", "uint8", "-o", "u.nii.gz"], capsys)
    assert rc == 1 and "do not fit in uint8" in err and not os.path.exists("u.nii.gz")
    run(sct_image.main, ["-i", "t2.nii.gz", "-pad", "0,0,3", "-o", "p.nii.gz"], capsys)
    padded = Image("p.nii.gz")
    assert padded.data.shape == (60, 55, 58)
    assert np.allclose(padded.transfo_pix2phys([[0, 0, 3]]), t2.transfo_pix2phys([[0, 0, 0]]))
    run(sct_image.main, ["-i", "t2.nii.gz", "-copy-header", "t2_seg-manual.nii.gz", "-o", "c.nii.gz"], capsys)
    copied = Image("c.nii.gz")
    assert np.array_equal(copied.data, Image("t2_seg-manual.nii.gz").data) and np.allclose(copied.affine, t2.affine)


def test_sct_maths_add_equals_numpy(data, capsys):
    rc, _, _ = run(sct_maths.main, ["-i", "t2.nii.gz", "-add", "t2_seg-manual.nii.gz", "10", "-o", "a.nii.gz"], capsys)
    t2, seg = Image("t2.nii.gz").data, Image("t2_seg-manual.nii.gz").data
    assert rc == 0 and np.array_equal(Image("a.nii.gz").data, t2 + seg + 10.0)
    rc, out, _ = run(sct_maths.main, ["-i", "t2.nii.gz", "-mi", "t2.nii.gz", "-o", "mi.txt"], capsys)
    assert rc == 0 and float(open("mi.txt").read()) > 1.0


def test_label_utils_display(data, capsys):
    rc, out, _ = run(sct_label_utils.main, ["-i", "labels.nii.gz", "-display"], capsys)
    assert rc == 0 and out.strip() == "31,44,26,3:32,9,26,5"
    rc, _, _ = run(sct_label_utils.main, ["-i", "t2_seg-manual.nii.gz", "-create-seg", "-1,3", "-o", "m.nii.gz"],
                   capsys)
    assert rc == 0 and Image("m.nii.gz").nonzero_coords()[:, 3].tolist() == [3]


def test_resample_labels_and_mask_and_crop(data, capsys):
    rc, _, _ = run(sct_resample.main, ["-i", "labels.nii.gz", "-mm", "2x2x2", "-x", "label"], capsys)
    out = Image("labels_r.nii.gz")
    assert rc == 0 and sorted(out.nonzero_coords()[:, 3].tolist()) == [3, 5]
    rc, _, _ = run(sct_create_mask.main, ["-i", "t2.nii.gz", "-p", "centerline,t2_seg-manual.nii.gz",
                                          "-size", "35mm", "-f", "cylinder"], capsys)
    mask, seg = Image("mask_t2.nii.gz"), Image("t2_seg-manual.nii.gz")
    assert rc == 0 and mask.data[seg.data > 0].min() == 1
    rc, _, _ = run(sct_crop_image.main, ["-i", "t2.nii.gz", "-m", "mask_t2.nii.gz"], capsys)
    # t2 is AIL: axis 1 runs along the cord (all 55 slices kept), axis 2 is right-left where the
    # 35 mm cylinder (established convention: 35 voxels of 1 mm, radius 17 voxels) spans 35 of 52
    assert rc == 0 and Image("t2_crop.nii.gz").data.shape[1:] == (55, 35)


def test_dice_hausdorff_convert_merge(data, sct_testing_data, capsys):
    auto = sct_testing_data / "t2" / "t2_seg-deepseg_sc-3d.nii.gz"
    rc, out, _ = run(sct_dice_coefficient.main, ["-i", "t2_seg-manual.nii.gz", "-d", "t2_seg-manual.nii.gz"], capsys)
    assert rc == 0 and "3D Dice coefficient = 1.000000" in out
    rc, out, _ = run(sct_dice_coefficient.main, ["-i", "t2_seg-manual.nii.gz", "-d", auto], capsys)
    assert f"= {2 * 4198 / 8560:.6f}" in out
    rc, out, _ = run(sct_compute_hausdorff_distance.main, ["-i", "t2_seg-manual.nii.gz", "-d", auto], capsys)
    hd = float(out.split("Hausdorff distance: ")[1].split()[0])
    assert rc == 0 and 1.0 <= hd < 10.0      # an automatic seg of the same cord: a few mm at most
    rc, _, _ = run(sct_convert.main, ["-i", "t2.nii.gz", "-o", "t2_copy.nii"], capsys)
    assert rc == 0 and np.array_equal(Image("t2_copy.nii").data, Image("t2.nii.gz").data)
    rc, _, _ = run(sct_merge_images.main, ["-i", "t2_seg-manual.nii.gz", "t2_seg-manual.nii.gz",
                                           "-d", "t2.nii.gz", "-o", "merged.nii.gz"], capsys)
    assert rc == 0 and np.allclose(Image("merged.nii.gz").data, Image("t2_seg-manual.nii.gz").data, atol=1e-5)


# --------------------------------------------------------------- bad inputs
BAD_INPUTS = [
    # (command, argv, expected exit code, expected text in the error)
    (sct_image, ["-i", "missing.nii.gz", "-getorient"], 2, "file not found"),
    (sct_image, ["-i", "notes.txt", "-setorient", "RPI", "-o", "out.nii.gz"], 1, "Not a NIfTI"),
    (sct_image, ["-i", "t2.nii.gz", "-setorient", "RPI", "-o", "t2.nii.gz"], 1, "Refusing to overwrite"),
    (sct_image, ["-i", "t2.nii.gz", "-setorient", "XYZ", "-o", "out.nii.gz"], 1, "Invalid orientation"),
    (sct_image, ["-i", "t2.nii.gz", "-keep-vol", "0", "-o", "out.nii.gz"], 1, "4-D image"),
    (sct_image, ["-i", "t2.nii.gz", "dmri.nii.gz", "-concat", "t", "-o", "out.nii.gz"], 1, "different dimensions"),
    (sct_maths, ["-i", "missing.nii.gz", "-add", "1", "-o", "out.nii.gz"], 2, "file not found"),
    (sct_maths, ["-i", "notes.txt", "-add", "1", "-o", "out.nii.gz"], 1, "Not a NIfTI"),
    (sct_maths, ["-i", "t2.nii.gz", "-add", "dmri.nii.gz", "-o", "out.nii.gz"], 1, "different dimensions"),
    (sct_maths, ["-i", "t2.nii.gz", "-add", "missing.nii.gz", "-o", "out.nii.gz"], 1, "not found"),
    (sct_maths, ["-i", "dmri.nii.gz", "-adap", "7,0", "-o", "out.nii.gz"], 1, "must be 3-D"),
    (sct_maths, ["-i", "t2.nii.gz", "-add", "1", "-o", "t2.nii.gz"], 1, "Refusing to overwrite"),
    (sct_maths, ["-i", "t2.nii.gz", "-corr", "t2.nii.gz", "-add", "1", "-o", "out.nii.gz"], 1, "last operation"),
    (sct_resample, ["-i", "missing.nii.gz", "-mm", "1"], 2, "file not found"),
    (sct_resample, ["-i", "notes.txt", "-mm", "1", "-o", "out.nii.gz"], 1, "Not a NIfTI"),
    (sct_resample, ["-i", "t2.nii.gz", "-mm", "1,1,1", "-o", "out.nii.gz"], 1, "separated by 'x'"),
    (sct_resample, ["-i", "dmri.nii.gz", "-mm", "1", "-x", "label", "-o", "out.nii.gz"], 1, "3-D label"),
    (sct_crop_image, ["-i", "missing.nii.gz", "-xmin", "1"], 2, "file not found"),
    (sct_crop_image, ["-i", "notes.txt", "-xmin", "1", "-o", "out.nii.gz"], 1, "Not a NIfTI"),
    (sct_crop_image, ["-i", "t2.nii.gz", "-m", "dmri.nii.gz", "-o", "out.nii.gz"], 1, "different dimensions"),
    (sct_crop_image, ["-i", "t2.nii.gz", "-xmin", "70", "-o", "out.nii.gz"], 1, "Invalid crop range"),
    (sct_convert, ["-i", "missing.nii.gz", "-o", "out.nii"], 2, "file not found"),
    (sct_convert, ["-i", "notes.txt", "-o", "out.nii"], 1, "Not a NIfTI"),
    (sct_convert, ["-i", "t2.nii.gz", "-o", "out.mgz"], 1, "must end with .nii"),
    (sct_create_mask, ["-i", "missing.nii.gz"], 2, "file not found"),
    (sct_create_mask, ["-i", "notes.txt", "-o", "out.nii.gz"], 1, "Not a NIfTI"),
    (sct_create_mask, ["-i", "t2.nii.gz", "-p", "centerline,dmri.nii.gz", "-o", "out.nii.gz"], 1, "must be 3-D"),
    (sct_create_mask, ["-i", "t2.nii.gz", "-p", "centreline,x", "-o", "out.nii.gz"], 1, "Did you mean"),
    (sct_label_utils, ["-i", "missing.nii.gz", "-display"], 2, "file not found"),
    (sct_label_utils, ["-i", "notes.txt", "-keep", "3", "-o", "out.nii.gz"], 1, "Not a NIfTI"),
    (sct_label_utils, ["-i", "labels.nii.gz", "-keep", "4", "-o", "out.nii.gz"], 1, "4 not found"),
    (sct_label_utils, ["-i", "dmri.nii.gz", "-display"], 1, "must be 3-D"),
    (sct_label_utils, ["-i", "t2_seg-manual.nii.gz", "-disc", "dmri.nii.gz", "-o", "out.nii.gz"], 1,
     "different dimensions"),
    (sct_dice_coefficient, ["-i", "missing.nii.gz", "-d", "t2.nii.gz"], 2, "file not found"),
    (sct_dice_coefficient, ["-i", "notes.txt", "-d", "t2.nii.gz", "-o", "out.txt"], 1, "Not a NIfTI"),
    (sct_dice_coefficient, ["-i", "dmri.nii.gz", "-d", "t2.nii.gz", "-o", "out.txt"], 1, "must be 3-D"),
    (sct_dice_coefficient, ["-i", "labels.nii.gz", "-d", "dmri.nii.gz", "-o", "out.txt"], 1, "must be 3-D"),
    (sct_compute_hausdorff_distance, ["-i", "missing.nii.gz", "-d", "t2.nii.gz"], 2, "file not found"),
    (sct_compute_hausdorff_distance, ["-i", "notes.txt", "-d", "t2.nii.gz", "-o", "out.txt"], 1, "Not a NIfTI"),
    (sct_compute_hausdorff_distance, ["-i", "dmri.nii.gz", "-d", "t2.nii.gz", "-o", "out.txt"], 1, "must be 3-D"),
    (sct_merge_images, ["-i", "missing.nii.gz", "-d", "t2.nii.gz"], 2, "file not found"),
    (sct_merge_images, ["-i", "notes.txt", "-d", "t2.nii.gz", "-o", "out.nii.gz"], 1, "Not a NIfTI"),
    (sct_merge_images, ["-i", "dmri.nii.gz", "-d", "t2.nii.gz", "-o", "out.nii.gz"], 1, "must be 3-D"),
    (sct_merge_images, ["-i", "t2.nii.gz", "-d", "t2.nii.gz", "-w", "t2.nii.gz", "t2.nii.gz", "-o",
                        "out.nii.gz"], 1, "one warping field per image"),
]


@pytest.mark.parametrize("command,argv,code,message", BAD_INPUTS,
                         ids=[f"{c.__name__.split('.')[-1]}-{i}" for i, (c, *_) in enumerate(BAD_INPUTS)])
def test_bad_input(data, capsys, command, argv, code, message):
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in data.iterdir()}
    rc, out, err = run(command.main, argv, capsys)
    assert rc == code
    lines = err.strip().splitlines()
    if code == 1:
        assert len(lines) == 1 and lines[0].startswith("ERROR: "), err
    assert message in lines[-1], err
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in data.iterdir()}
    assert after == before          # no output written (not even a temporary file), inputs untouched


def test_merge_through_warp_matches_known_dice(data, sct_testing_data, capsys):
    # conventions.md: PAM50_small_cord pulled through t2/warp_template2anat.nii.gz onto t2 has
    # Dice 0.951 with the manual segmentation
    cord = sct_testing_data / "template" / "template" / "PAM50_small_cord.nii.gz"
    warp = sct_testing_data / "t2" / "warp_template2anat.nii.gz"
    rc, _, err = run(sct_merge_images.main, ["-i", cord, "-w", warp, "-d", "t2.nii.gz", "-o", "m.nii.gz"], capsys)
    assert rc == 0, err
    from spinalcordtoolbox.metrics.similarity import dice
    assert dice(Image("m.nii.gz").data, Image("t2_seg-manual.nii.gz").data) == pytest.approx(0.951, abs=0.002)
