"""Dice and surface distances on real segmentations and on analytic shapes."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.metrics.similarity import dice, dice_per_slice, hausdorff, hausdorff_per_slice


def test_dice_real_segmentations(sct_testing_data):
    manual = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz").data
    auto = Image(sct_testing_data / "t2" / "t2_seg-deepseg_sc-3d.nii.gz").data
    assert dice(manual, manual) == 1.0
    # 4275 and 4285 voxels, 4198 in common (counted with numpy): 2*4198/8560
    assert dice(manual, auto) == pytest.approx(2 * 4198 / (4275 + 4285), abs=1e-12)
    shifted = np.roll(manual, 1, axis=2)
    expected = 2 * np.logical_and(manual > 0, shifted > 0).sum() / (2 * (manual > 0).sum())
    assert dice(manual, shifted) == pytest.approx(expected)


@pytest.mark.parametrize("shift", [1, 3, 5])
def test_dice_shifted_boxes_analytic(shift):
    a = np.zeros((30, 20, 20), np.uint8)
    a[5:15, 5:15, 5:15] = 1
    b = np.roll(a, shift, axis=0)
    # overlap is (10 - shift) of 10 columns
    assert dice(a, b) == pytest.approx((10 - shift) / 10)
    per = dice_per_slice(a, b, axis=2)
    assert np.allclose(per[5:15], (10 - shift) / 10) and np.isnan(per[0])


def test_dice_soft_segmentations_use_half_threshold():
    a = np.array([0.2, 0.6, 0.9, 0.0])
    b = np.array([0.7, 0.4, 1.0, 0.0])
    assert dice(a, b) == pytest.approx(2 * 1 / (2 + 2))


def test_hausdorff_shifted_box_anisotropic():
    a = np.zeros((30, 20, 20), bool)
    a[5:15, 5:15, 5:15] = True
    b = np.roll(a, 4, axis=0)
    # every surface point moves by 4 voxels of 0.5 mm along x
    res = hausdorff(a, b, spacing=(0.5, 1.0, 2.0))
    assert res["hausdorff"] == pytest.approx(2.0)
    assert hausdorff(a, a, spacing=(1, 1, 1))["hausdorff"] == 0.0


def test_hausdorff_single_points():
    a = np.zeros((10, 10, 10), bool)
    b = np.zeros((10, 10, 10), bool)
    a[1, 1, 1] = True
    b[4, 5, 1] = True
    res = hausdorff(a, b, spacing=(1, 1, 1))
    assert res["hausdorff"] == pytest.approx(5.0) and res["mean"] == pytest.approx(5.0)   # 3-4-5


def test_hausdorff_concentric_squares_per_slice():
    # 2-D squares: inner side 4, outer side 10 centred alike; the inner square's corner pixel
    # (2, 2) from the outer corner (0, 0)... the farthest outer surface pixel is a corner: distance
    # to the inner square's corner = sqrt(3^2 + 3^2)
    a = np.zeros((12, 12, 2), bool)
    b = np.zeros((12, 12, 2), bool)
    a[1:11, 1:11, :] = True
    b[4:8, 4:8, :] = True
    per = hausdorff_per_slice(a, b, spacing=(1, 1, 1), axis=2)
    assert per[0]["hausdorff"] == pytest.approx(np.sqrt(18))
    assert per[0]["max_b_to_a"] == pytest.approx(3.0)


def test_hausdorff_masks_touching_the_image_border():
    # the image border counts as background: a box at the edge shifted by 2 voxels -> 2 mm
    a = np.zeros((20, 10, 10), bool)
    a[0:10, :, :] = True
    b = np.roll(a, 2, axis=0)
    assert hausdorff(a, b, spacing=(1, 1, 1))["hausdorff"] == pytest.approx(2.0)
