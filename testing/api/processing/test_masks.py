"""Masks: a 35 mm cylinder along the manual centerline holds the whole cord; analytic sizes."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image, ImageError
from spinalcordtoolbox.processing.masks import create_mask, parse_size


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    return Image(sct_testing_data / "t2" / "t2.nii.gz")


@pytest.fixture(scope="module")
def seg(sct_testing_data):
    return Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")


def test_cylinder_on_centerline_contains_whole_cord(t2, seg):
    mask = create_mask(t2, "centerline", seg, size="35mm", kind="cylinder", convention="exact")
    assert mask.data.shape == t2.data.shape and mask.orientation == t2.orientation
    assert np.allclose(mask.affine, t2.affine)
    cord = seg.data > 0
    assert mask.data[cord].min() == 1          # every cord voxel inside
    # each axial slice holds a disk of ~pi*17.5^2 = 962 mm^2 (1 mm voxels), clipped by the
    # 60x55 mm field of view at most a little: between 85 % and 102 % of the disk area
    m = mask.copy().change_orientation("RPI").data
    areas = m.reshape(-1, m.shape[2]).sum(axis=0)
    assert np.all(areas <= 1.02 * np.pi * 17.5 ** 2) and np.all(areas >= 0.85 * np.pi * 17.5 ** 2)


def test_small_cylinder_is_centred_on_the_cord(t2, seg):
    mask = create_mask(t2, "centerline", seg, size="5mm")
    seg_rpi = seg.copy().change_orientation("RPI").data > 0
    m = mask.copy().change_orientation("RPI").data > 0
    zs = np.unique(np.nonzero(seg_rpi)[2])
    # the 5 mm disk sits inside the cord (about 8 x 11 mm) in most slices
    inside = [np.mean(seg_rpi[:, :, z][m[:, :, z]]) for z in zs]
    assert np.median(inside) == 1.0 and np.mean(inside) > 0.9


def test_box_and_gaussian_at_coordinate():
    img = Image(np.zeros((41, 41, 3), np.float32), affine=np.diag([0.5, 0.5, 2.0, 1.0]) @ np.diag([-1, 1, 1, 1]))
    box = create_mask(img, "coord", (20, 20), size="11", kind="box")
    assert box.data[:, :, 0].sum() == 11 * 11          # side 11 voxels of 0.5 mm = 5.5 mm
    gauss = create_mask(img, "coord", (20, 20), size="4mm", kind="gaussian", convention="exact")
    g = gauss.data[:, 20, 0]
    assert g.max() == pytest.approx(1.0)
    # full width at half maximum = 4 mm = 8 voxels: value 0.5 at +-4 voxels from the centre
    assert g[24] == pytest.approx(0.5, abs=1e-6) and g[16] == pytest.approx(0.5, abs=1e-6)


def test_established_size_convention():
    img = Image(np.zeros((41, 41, 3), np.float32), affine=np.diag([0.5, 0.5, 2.0, 1.0]) @ np.diag([-1, 1, 1, 1]))
    # -size 20: radius ceil(19 / 2) = 10 voxels, |dx| <= 10: 21 x 21 voxels (21 x 11 for 10)
    assert create_mask(img, "coord", (20, 20), size="20", kind="box").data[:, :, 0].sum() == 21 * 21
    assert create_mask(img, "coord", (20, 20), size="10", kind="box").data[:, :, 0].sum() == 11 * 11
    # 5mm on 0.5 mm voxels: n = 10 voxels, r = 5; gaussian sigma = r voxels: exp(-1/2) at 5 voxels
    g = create_mask(img, "coord", (20, 20), size="5mm", kind="gaussian").data[:, 20, 0]
    assert g[20] == pytest.approx(1.0) and g[25] == pytest.approx(np.exp(-0.5)) and g[15] == g[25]
    cyl = create_mask(img, "coord", (20, 20), size="5mm", kind="cylinder").data[:, :, 0]
    assert cyl.sum() == sum(1 for i in range(-5, 6) for j in range(-5, 6) if i * i + j * j <= 25)


def test_point_and_center(t2, sct_testing_data):
    labels = Image(sct_testing_data / "t2" / "labels.nii.gz")
    with pytest.raises(ImageError, match="exactly one"):
        create_mask(t2, "point", labels)
    one = labels.copy()
    one.data = np.where(labels.data == 3, 3, 0).astype(labels.data.dtype)
    mask = create_mask(t2, "point", one, size="3")
    assert mask.data[31, 44, 26] == 1 and mask.data[31, :, :].sum() > 0
    centre = create_mask(t2, "center", size="10mm").copy().change_orientation("RPI")
    assert centre.data[26, 30, 0] == 1 and centre.data[0, 0, 0] == 0


def test_parse_size():
    assert parse_size("35mm", 0.5) == 35.0
    assert parse_size("10", 0.5) == 5.0
    with pytest.raises(ImageError):
        parse_size("-3", 1.0)
