"""sct_propseg's cord detection without model download on images unlike the test data: a representative
subset of the robustness set of ``testing/benchmarks/bench_propseg_robustness.py`` (thick slices, a
large or small field of view, flips, noise, bias field), scored against the manual segmentation
transformed identically; and the rejection of per-slice guesses that jump off the cord.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_propseg_robustness import make_case, score  # noqa: E402

from spinalcordtoolbox.propseg.core import propseg  # noqa: E402


# measured Dice (ring detector, no cnn): see docs/validation.md; asserted at least 0.03 below
@pytest.mark.parametrize("source, transform, minimum", [
    ("t2", "thick5", 0.95),    # 5 mm axial slices: 0.981
    ("t2", "crop", 0.95),      # 36 mm field of view, cord off-centre: 0.979
    ("t1", "combo", 0.86),     # 5 mm slices + 180 mm FOV + noise + bias: 0.895
    ("mt1", "pad", 0.85),      # MT in a 180 mm field of view (the unseen case that failed): 0.88
    ("mt1", "flipAP", 0.87),   # mirrored front-back: 0.907
    ("t2s", "bias", 0.85),     # smooth bias field: 0.879
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
