"""Resampling keeps world coordinates: label points, field of view, identity and reference grids."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image, ImageError
from spinalcordtoolbox.resampling import grid_for, merge_images, parse_dims, resample_image


@pytest.fixture(scope="module")
def labels(sct_testing_data):
    return Image(sct_testing_data / "t2" / "labels.nii.gz")


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    return Image(sct_testing_data / "t2" / "t2.nii.gz")


def _world_by_value(img):
    return {int(v): img.transfo_pix2phys([[x, y, z]])[0] for x, y, z, v in img.nonzero_coords()}


@pytest.mark.parametrize("mm", [[0.5, 0.5, 0.5], [2.0, 2.0, 2.0], [0.7, 1.3, 3.0]])
def test_label_points_keep_world_position(labels, mm):
    out = resample_image(labels, mm=mm, interpolation="label")
    before, after = _world_by_value(labels), _world_by_value(out)
    assert sorted(after) == [3, 5]          # no label lost or duplicated
    vox = np.abs(out.affine[:3, :3]).sum(axis=0)  # voxel size of the new grid along each world axis
    for v in before:
        # within half a new voxel along each axis
        err = np.abs(np.linalg.inv(out.affine[:3, :3]) @ (after[v] - before[v]))
        assert np.all(err <= 0.5 + 1e-6), (v, err)
        assert np.linalg.norm(after[v] - before[v]) <= 0.5 * np.linalg.norm(vox) + 1e-6


def test_field_of_view_and_voxel_size(t2):
    out = resample_image(t2, mm=[0.5, 2.0, 1.0])
    assert out.data.shape == (120, 28, 52)   # 60x55x52 mm of 1 mm voxels
    assert np.allclose(out.pixdim, [0.5, 55 / 28, 1.0])
    # the outer edge of the first voxel stays at the same world position
    edge_in = t2.transfo_pix2phys([[-0.5, -0.5, -0.5]])[0]
    edge_out = out.transfo_pix2phys([[-0.5, -0.5, -0.5]])[0]
    assert np.allclose(edge_in, edge_out, atol=1e-4)


def test_identity_and_factor(t2):
    same = resample_image(t2, factor=[1, 1, 1], interpolation="nn")
    assert np.array_equal(same.data, t2.data) and np.allclose(same.affine, t2.affine)
    lin = resample_image(t2, factor=[1, 1, 1], interpolation="linear")
    assert np.allclose(lin.data, t2.data, atol=1e-3)
    assert resample_image(t2, factor=[0.5, 0.5, 1]).data.shape == (30, 28, 52)


def test_linear_interpolation_of_a_ramp_is_exact():
    # a linear ramp along x resampled linearly gives the ramp at the new voxel centres
    data = np.tile(np.arange(10, dtype=np.float32)[:, None, None], (1, 4, 4))
    img = Image(data, affine=np.diag([2.0, 1.0, 1.0, 1.0]))
    out = resample_image(img, mm=[1.0, 1.0, 1.0])
    centres = np.arange(20) * 0.5 - 0.25     # new centres in old voxel units
    inside = (centres >= 0) & (centres <= 9)
    assert np.allclose(out.data[inside, 2, 2], centres[inside], atol=1e-5)


def test_spline_and_chunking(t2, monkeypatch):
    from spinalcordtoolbox import resampling

    # an interpolating spline passes through the samples: factor 1 gives the input back
    assert np.allclose(resample_image(t2, factor=[1, 1, 1], interpolation="spline").data, t2.data, atol=1e-3)
    whole = resample_image(t2, mm=[0.7, 0.9, 1.3], interpolation="spline")
    monkeypatch.setattr(resampling, "_CHUNK", 500)   # slabs of one x-row: same result
    sliced = resample_image(t2, mm=[0.7, 0.9, 1.3], interpolation="spline")
    assert np.array_equal(whole.data, sliced.data)


def test_point_labels_are_detected(labels, t2):
    from spinalcordtoolbox.resampling import looks_like_point_labels

    assert looks_like_point_labels(labels) and not looks_like_point_labels(t2)
    auto = resample_image(labels, mm=[3, 3, 3])           # default interpolation: as points
    assert sorted(auto.nonzero_coords()[:, 3].tolist()) == [3, 5]


def test_resample_onto_reference_and_4d(sct_testing_data, t2):
    dmri = Image(sct_testing_data / "dmri" / "dmri.nii.gz")
    ref = resample_image(t2, mm=[2, 2, 2])
    onto = resample_image(t2, ref=ref)
    assert onto.data.shape == ref.data.shape and np.allclose(onto.affine, ref.affine)
    out4 = resample_image(dmri, factor=[0.5, 0.5, 1])
    assert out4.data.shape == (20, 21, 5, 7)


def test_nearest_neighbour_warns_about_lost_labels(labels, caplog):
    resample_image(labels, mm=[4, 4, 4], interpolation="nn")
    assert "lost label values" in caplog.text


def test_parse_dims_errors():
    assert parse_dims("0.5x0.5x2", "-mm") == [0.5, 0.5, 2.0]
    with pytest.raises(ImageError):
        parse_dims("1,1,1", "-mm")
    with pytest.raises(ImageError):
        grid_for(Image(np.zeros((2, 2, 2), np.float32)), mm=[1, 1, 1], vox=[1, 1, 1])


def test_merge_images_averages_overlap(t2):
    a = Image(np.where(t2.data > 0, 2.0, 0).astype(np.float32), hdr=t2.hdr, affine=t2.affine)
    b = Image(np.where(t2.data > 0, 4.0, 0).astype(np.float32), hdr=t2.hdr, affine=t2.affine)
    out = merge_images([a, b], t2)
    assert np.allclose(out.data[t2.data > 0], 3.0, atol=1e-5)
