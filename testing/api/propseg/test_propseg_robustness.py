"""sct_propseg's cord detection without model download on images unlike the test data: a representative
subset of the robustness set of ``testing/benchmarks/bench_propseg_robustness.py`` (thick slices, a
large or small field of view, flips, noise, bias field), scored against the manual segmentation
transformed identically; a sagittal lumbar acquisition simulated from the PAM50 template; and the
rejection of per-slice guesses that jump off the cord.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.bench_propseg_robustness import conus_gap, make_case, make_lumbar_case, score  # noqa: E402
from benchmarks.label_vertebrae_anatomy import scaled_copy  # noqa: E402

from spinalcordtoolbox.propseg.core import propseg  # noqa: E402


# measured Dice (ring detector, no cnn): see docs/validation.md; asserted at least 0.03 below
@pytest.mark.parametrize("source, transform, minimum", [
    ("t2", "thick5", 0.95),    # 5 mm axial slices: 0.981
    ("t2", "crop", 0.95),      # 36 mm field of view, cord off-centre: 0.979
    ("t1", "combo", 0.86),     # 5 mm slices + 180 mm FOV + noise + bias: 0.895
    ("mt1", "pad", 0.85),      # MT in a 180 mm field of view (the unseen case that failed): 0.88
    ("mt1", "flipAP", 0.87),   # mirrored front-back: 0.907
    ("t2s", "bias", 0.85),     # smooth bias field: 0.879
    ("mt1", "mtfov", 0.86),    # the failing axial MT scan's grid (192 x 192 x 0.9 mm, 172.8 mm): 0.889
    ("t2s", "mtfov", 0.87),    # the same grid, 7.5 mm slices: 0.902 (was refused: "No spinal cord found")
    ("mt1", "crop", 0.87),     # 36 mm FOV, 2 slices of 17 mm: 0.904 (was refused)
])
def test_robustness_case_dice(sct_testing_data, source, transform, minimum):
    image, reference, contrast, kind = make_case(sct_testing_data, source, transform)
    seg, _ = propseg(image, contrast, use_cnn=False)
    assert seg.data.shape == image.data.shape and np.allclose(seg.affine, image.affine)
    d = score(seg, reference, kind)["dice"]
    assert d >= minimum, d


def test_dwi_cropped_centre_on_the_manual_centerline(sct_testing_data):
    """dwi_mean has no manual segmentation: every slice's centre within 1 mm of the manual centerline
    (measured: mean 0.38, max 0.49 mm)."""
    image, reference, contrast, kind = make_case(sct_testing_data, "dwi", "crop")
    seg, _ = propseg(image, contrast, use_cnn=False)
    r = score(seg, reference, kind)
    assert r["missing"] == 0 and r["max_mm"] < 1.0, r


def test_guesses_that_jump_are_rejected(sct_testing_data):
    """Per-slice guesses (as the cnn detector's) given as weak anchors: 4 of 20 moved 15 mm off the cord
    on the t2 image. The global path follows the cord on every slice (within 1.5 mm of the manual
    segmentation's centre) instead of jumping to them."""
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.propseg.detect import detect_cord_centres

    im = Image(str(sct_testing_data / "t2" / "t2.nii.gz")).change_orientation("RPI")
    gt = Image(str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")).change_orientation("RPI")
    data = im.data[:, :, 10:30].astype(np.float32)
    truth = {z: np.argwhere(gt.data[:, :, 10 + z] > 0).mean(axis=0) for z in range(20)}
    anchors = {z: tuple(truth[z]) for z in range(20)}
    for z in (3, 4, 11, 16):
        anchors[z] = (truth[z][0] + 15 / im.pixdim[0], truth[z][1])
    path, changed = detect_cord_centres(data, im.pixdim, "t2", anchors=anchors, anchor_bonus=1.0)
    assert sorted(path) == list(range(20))
    err = [np.hypot(*((np.array(path[z]) - truth[z]) * im.pixdim[:2])) for z in range(20)]
    assert max(err) < 1.5, err


def test_lumbar_cord_found_and_stops_at_the_conus(pam50):
    """Sagittal lumbar T2 simulated from PAM50 (T9 to L2, 1 mm, 38 mm left-right, bias and noise): the
    cord is followed down to the conus without drifting into the cauda equina (before: the path left
    the cord below the conus for the dark structures beside the canal, 10 mm away; Dice 0.742).
    Measured: Dice 0.804, every slice's centre within 1.2 mm of the template's, the segmentation ends
    15 mm above the conus (the last slice where the template's cord still has >= 8 mm2: the blurred
    conus fails the contour check). The threshold is below 0.85 because of the stand-in: the
    template's T2 image is an average of subjects whose conus lies at different heights, so its dark
    conus is wider and longer than PAM50_cord, and its cord/CSF edge (where propseg draws the contour,
    40 % of the way from cord to CSF) lies 0.5-1 mm outside PAM50_cord; the T9-T11 slices, above the
    lumbar enlargement, reach Dice 0.89-0.93 per slice."""
    image, reference, contrast, kind = make_lumbar_case(pam50, "sag")
    seg, _ = propseg(image, contrast, use_cnn=False)
    r = score(seg, reference, kind)
    assert r["dice"] >= 0.77, r
    assert r["max_mm"] <= 2.0, r  # no slice off the cord
    assert -2.0 <= conus_gap(seg, reference) <= 20.0  # never into the cauda equina (before: -8 mm)


def test_path_that_leaves_the_cord_is_cut():
    """A path that follows the cord and then switches to a structure 10 mm to the side (as below the
    conus) keeps only the cord; a detour in the middle is dropped and the cord found after it kept."""
    from spinalcordtoolbox.propseg.detect import keep_continuous

    pixdim = (0.5, 0.5, 1.0)
    cord = {z: (40.0 + 0.2 * z, 50.0) for z in range(60)}
    tail = dict(cord)
    tail.update({z: (60.0, 48.0) for z in range(15)})  # 10 mm to the side on the first 15 slices
    path, dropped = keep_continuous(tail, pixdim, radius=4.0, step_mm=1.5)
    assert sorted(path) == list(range(15, 60)) and dropped == 15
    detour = dict(cord)
    detour.update({z: (20.0, 50.0) for z in range(25, 30)})
    path, dropped = keep_continuous(detour, pixdim, radius=4.0, step_mm=1.5)
    assert sorted(path) == [z for z in range(60) if not 25 <= z < 30] and dropped == 5
    slow = {z: (40.0 + 1.0 * z, 50.0) for z in range(60)}  # 0.5 mm per slice: an oblique cord, kept
    assert keep_continuous(slow, pixdim, radius=4.0, step_mm=1.5) == (slow, 0)


def test_mt_with_a_narrower_cord_does_not_leak(sct_testing_data, tmp_path):
    """mt1 with its voxels 20 % smaller across (a cord 20 % narrower): on the two lowest 17 mm
    slices no CSF separates the cord from the tissue behind it and the contour leaked to 2-3x the
    reference area; slices swollen past 1.5x the median area are reined in to the cord's shape on
    the other slices. Here with the centerline given: Dice 0.739 -> 0.831, lowest two slices 522
    -> 284 voxels (reference 185); sct_propseg with the CNN centerline: 0.779 -> 0.889
    (testing/benchmarks/propseg_anatomy.py)."""
    import nibabel as nib

    from spinalcordtoolbox.image import Image

    paths = {name: scaled_copy(sct_testing_data / "mt" / name, tmp_path / name, 1.0, 0.8)
             for name in ("mt1.nii.gz", "mt1_seg.nii.gz")}
    # the centerline given (-init-centerline): the test is about the contour, and without the CNN
    # centerline weights (a clean install) the detection alone is refused on this case (0.87)
    seg, _ = propseg(Image(str(paths["mt1.nii.gz"])), "t2", init_centerline=Image(str(paths["mt1_seg.nii.gz"])),
                     use_cnn=False)
    ref = np.asanyarray(nib.load(str(paths["mt1_seg.nii.gz"])).dataobj) > 0.5
    got = np.asarray(seg.data) > 0.5
    assert 2 * (got & ref).sum() / (got.sum() + ref.sum()) >= 0.80
    assert got[:, :, :2].sum() <= 1.7 * ref[:, :, :2].sum()


def test_swollen_slices_are_reined_in_to_the_cords_shape():
    from spinalcordtoolbox.propseg.core import _rein_in_swollen_slices

    R = np.tile(np.linspace(3.0, 5.0, 48), (6, 1))  # an elliptical-ish cord on 6 slices
    R[0, 20:30] = 12.0                             # slice 0 leaked on one side
    R[3] *= 1.1                                    # slice 3 a little larger: kept
    out = _rein_in_swollen_slices(R)
    np.testing.assert_allclose(out[0, 20:30], 1.2 * R[1, 20:30])
    np.testing.assert_array_equal(out[1:], R[1:])
    np.testing.assert_array_equal(_rein_in_swollen_slices(R[:2]), R[:2])  # too few slices to judge
