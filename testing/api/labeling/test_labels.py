"""Point labels on sct_testing_data: display, create, keep/remove, levels, projection, distances."""
import numpy as np
import pytest

from spinalcordtoolbox.labeling import labels as lab
from spinalcordtoolbox.image import Image


@pytest.fixture(scope="module")
def t2_labels(sct_testing_data):
    return Image(sct_testing_data / "t2" / "labels.nii.gz")


@pytest.fixture(scope="module")
def seg(sct_testing_data):
    return Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")


def test_display_t2_labels(t2_labels):
    assert lab.display_text(t2_labels) == "31,44,26,3:32,9,26,5"


def test_create_and_add(t2_labels):
    out = lab.create_labels(t2_labels, lab.parse_points("1,2,3,7:4,5,6,8.5", 3))
    assert lab.label_points(out) == [(1, 2, 3, 7), (4, 5, 6, 8.5)]
    added = lab.create_labels(t2_labels, [(1, 2, 3, 7)], add_to=t2_labels)
    assert lab.display_text(added) == "31,44,26,3:32,9,26,5:1,2,3,7"
    with pytest.raises(lab.LabelError, match="outside"):
        lab.create_labels(t2_labels, [(60, 0, 0, 1)])


def test_keep_remove_and_absent_values(t2_labels):
    assert lab.display_text(lab.keep_labels(t2_labels, [3])) == "31,44,26,3"
    assert lab.display_text(lab.remove_labels(t2_labels, [3])) == "32,9,26,5"
    # an absent value is skipped with a warning (the course keeps 3,9 where 9 may be outside the
    # field of view); none present is an error
    assert lab.display_text(lab.keep_labels(t2_labels, [3, 9])) == "31,44,26,3"
    with pytest.raises(lab.LabelError, match="4 not found"):
        lab.keep_labels(t2_labels, [4])
    ref = lab.create_labels(t2_labels, [(0, 0, 0, 5)])
    assert lab.display_text(lab.remove_missing_from_reference(t2_labels, ref)) == "32,9,26,5"


def test_increment_from_top(t2_labels):
    # label 3 (C2-C3) is superior to label 5: it becomes 1
    assert lab.display_text(lab.increment(t2_labels)) == "31,44,26,1:32,9,26,2"


def test_cubic_to_point():
    data = np.zeros((10, 10, 10), np.uint8)
    data[2:5, 2:5, 2:5] = 4       # 3x3x3 blob centred on (3, 3, 3)
    data[7, 7, 7] = 9
    out = lab.cubic_to_point(Image(data))
    assert lab.label_points(out) == [(3, 3, 3, 4), (7, 7, 7, 9)]


def test_create_seg_mid_slice(seg):
    out = lab.create_labels_along_seg(seg, [(-1, 3)])
    seg_rpi = seg.copy().change_orientation("RPI").data
    zs = np.unique(np.nonzero(seg_rpi)[2])
    pts_rpi = out.copy().change_orientation("RPI").nonzero_coords()
    # the established convention: the image's middle I-S slice, round(nz / 2) (t2: 55 slices -> 28)
    assert len(pts_rpi) == 1 and pts_rpi[0, 2] == round(seg_rpi.shape[2] / 2) == 28 and pts_rpi[0, 3] == 3
    x, y, z = pts_rpi[0, :3].astype(int)
    assert seg_rpi[x, y, z] == 1          # on the cord
    # the established voxel on t2_seg-manual (AIL grid): 30,28,25
    assert lab.label_points(out) == [(30, 28, 25, 3)]
    mid = lab.create_labels_along_seg(seg, [(-1, 3)], mid="segmentation")
    assert mid.copy().change_orientation("RPI").nonzero_coords()[0, 2] == round((zs[0] + zs[-1]) / 2)


def test_cubic_to_point_established_voxel(seg):
    # the established toolbox's test: t2_seg-manual's centre of mass is voxel 31,27,25
    assert lab.label_points(lab.cubic_to_point(seg)) == [(31, 27, 25, 1)]


def test_vertebral_levels(sct_testing_data, seg, t2_labels):
    labeled = Image(sct_testing_data / "t2" / "t2_seg-manual_labeled.nii.gz")
    body = lab.vertebral_body_points(labeled, [0])
    assert [p[3] for p in lab.label_points(body)] == [2, 3, 4, 5]
    cont = lab.continuous_vertebral_levels(labeled)
    m = labeled.data > 0
    # continuous values lie in [L, L+1) of their discrete level
    assert np.all(np.floor(cont.data[m] + 1e-6) == np.rint(labeled.data[m]))
    levels = lab.labelize_from_discs(seg, t2_labels)
    lev_rpi = levels.copy().change_orientation("RPI").data
    # disc 3 at RPI z=44: slices above are C2 (2), just below C3 (3); disc 5 at z=9: below is C5
    assert set(np.unique(lev_rpi[:, :, 45])) <= {0, 2} and 2 in lev_rpi[:, :, 45]
    assert 3 in lev_rpi[:, :, 43] and 5 in lev_rpi[:, :, 8]
    assert np.array_equal(lev_rpi > 0, seg.copy().change_orientation("RPI").data > 0)


def test_project_on_centerline_and_distances(seg, t2_labels):
    proj = lab.project_on_centerline(t2_labels, seg)
    pts = lab.label_points(proj)
    assert [p[3] for p in pts] == [3, 5]
    for x, y, z, _ in pts:
        assert seg.data[x, y, z] == 1      # projected labels lie in the cord
    res = lab.label_distance_errors(t2_labels, t2_labels)
    assert res["rms"] == 0.0
    moved = lab.create_labels(t2_labels, [(31 + 3, 44 + 4, 26, 3), (32, 9, 26, 5)])
    res = lab.label_distance_errors(moved, t2_labels)
    # label 3 moved by (3, 4, 0) voxels of 1 mm: 5 mm; label 5 unmoved
    assert res["per_label"][3] == pytest.approx(5.0) and res["rms"] == pytest.approx(np.sqrt(25 / 2))


@pytest.mark.parametrize("landmark", [49, 50, 60])
def test_levels_from_discs_ignore_pmj_and_conus(seg, landmark):
    """sct_label_vertebrae's _labeled_discs holds 50 (PMJ) above the discs; 49/50/60 are no
    discs: the levels from disc labels 3 (z=52), 4 (z=34), 5 (z=16) are the same with them."""
    from spinalcordtoolbox.shape.aggregate_slicewise import levels_from_discs

    discs = seg.copy().change_orientation("RPI")
    discs.data = np.zeros(discs.data.shape, np.uint8)
    for z, v in ((52, 3), (34, 4), (16, 5)):
        discs.data[21, 25, z] = v
    with_landmark = discs.copy()
    with_landmark.data = discs.data.copy()
    with_landmark.data[21, 25, 54] = landmark
    per_slice = levels_from_discs(with_landmark)
    np.testing.assert_array_equal(per_slice, levels_from_discs(discs))
    assert per_slice[40] == 3 and per_slice[20] == 4 and np.isnan(per_slice[54])
    seg_rpi = seg.copy().change_orientation("RPI")
    labeled = lab.labelize_from_discs(seg_rpi, with_landmark)
    ref = lab.labelize_from_discs(seg_rpi, discs)
    np.testing.assert_array_equal(labeled.data, ref.data)
    assert set(np.unique(labeled.data).tolist()) == {0, 2, 3, 4, 5}


def test_one_disc_to_level_rule_with_and_without_extension():
    """Discs 3 (z=8), 4 (z=5), 6 (z=1): disc 5 is interpolated at z=3; a slice belongs to the
    level of the nearest disc at or above it. Without extension only levels closed by two discs
    exist (the lowest disc's slice closes level 5); with it, the ends take C2 above and 6 below."""
    discs = {3: 8, 4: 5, 6: 1}
    extended = lab.level_of_each_slice(discs, 10, beyond_outer_discs=True)
    np.testing.assert_array_equal(extended, [6, 6, 5, 5, 4, 4, 3, 3, 3, 2])
    closed = lab.level_of_each_slice(discs, 10, beyond_outer_discs=False)
    np.testing.assert_array_equal(closed, [np.nan, 5, 5, 5, 4, 4, 3, 3, 3, np.nan])
    with pytest.raises(lab.LabelError, match="must go down"):
        lab.level_of_each_slice({3: 2, 4: 5}, 10, beyond_outer_discs=True)
