"""Image class: I/O round trip, orientation (48 codes), world coordinates, utilities."""
import numpy as np
import pytest

from spinalcordtoolbox.image import (ALL_ORIENTATIONS, Image, ImageError, concat_data, crop_image,
                                     pad_image, split_img_data, zeros_like)


def test_all_48_orientations():
    assert len(ALL_ORIENTATIONS) == 48


def test_t2_orientation_naming(sct_testing_data):
    img = Image(sct_testing_data / "t2" / "t2.nii.gz")
    # the toolbox names axes by where they come from: nibabel's PSR is the toolbox's AIL
    assert img.orientation == "AIL"
    img.change_orientation("RPI")
    assert img.data.shape == (52, 60, 55)
    assert img.orientation == "RPI"


def test_save_load_round_trip_bit_exact(sct_testing_data, tmp_path):
    src = Image(sct_testing_data / "t2" / "t2.nii.gz")
    out = tmp_path / "copy.nii.gz"
    src.save(out)
    back = Image(out)
    assert back.data.dtype == src.data.dtype
    assert np.array_equal(back.data, src.data)
    assert np.array_equal(back.affine, src.affine)
    assert int(back.hdr["qform_code"]) == int(src.hdr["qform_code"])
    assert int(back.hdr["sform_code"]) == int(src.hdr["sform_code"])


@pytest.mark.parametrize("orientation", ALL_ORIENTATIONS)
def test_orientation_round_trip_is_identity(sct_testing_data, orientation):
    src = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    img = src.copy().change_orientation(orientation)
    assert img.orientation == orientation
    # same voxel keeps the same world coordinate
    idx = np.argwhere(img.data > 0)[:5]
    world = img.transfo_pix2phys(idx)
    back_idx = src.transfo_phys2pix(world, real=False)
    assert np.all(src.data[tuple(back_idx.T)] == img.data[tuple(idx.T)])
    img.change_orientation(src.orientation)
    assert np.array_equal(img.data, src.data)
    assert np.allclose(img.affine, src.affine)


def test_labels_world_coordinates_kept_after_reorientation(sct_testing_data):
    labels = Image(sct_testing_data / "t2" / "labels.nii.gz")
    before = {int(v): labels.transfo_pix2phys([c[:3]])[0] for c in labels.nonzero_coords() for v in [c[3]]}
    rpi = labels.copy().change_orientation("RPI")
    after = {int(c[3]): rpi.transfo_pix2phys([c[:3]])[0] for c in rpi.nonzero_coords()}
    assert before.keys() == after.keys() == {3, 5}
    for k in before:
        assert np.allclose(before[k], after[k], atol=1e-4)


def test_pix_phys_inverse():
    affine = np.array([[0.5, 0, 0, -10], [0, 0.8, 0.1, 5], [0, 0, 2.0, 3], [0, 0, 0, 1]])
    img = Image(np.zeros((4, 5, 6), dtype=np.float32), affine=affine)
    pts = np.array([[1, 2, 3], [0, 0, 0], [3.5, 4.2, 1.1]])
    assert np.allclose(img.transfo_phys2pix(img.transfo_pix2phys(pts)), pts)


def test_change_type_range_check():
    img = Image(np.array([[[0.0, 300.0]]]))
    with pytest.raises(ImageError, match="do not fit"):
        img.copy().change_type(np.uint8)
    assert img.copy().change_type(np.int16).data.dtype == np.int16


def test_split_concat_pad_crop_keep_world_positions(sct_testing_data):
    img = Image(sct_testing_data / "t2" / "t2.nii.gz")
    parts = split_img_data(img, 2)
    assert len(parts) == img.data.shape[2]
    k = 7
    assert np.allclose(parts[k].transfo_pix2phys([[0, 0, 0]]), img.transfo_pix2phys([[0, 0, k]]))
    merged = concat_data(parts, 2)
    assert np.array_equal(merged.data, img.data)
    padded = pad_image(img, (2, 3), (0, 0), (1, 0))
    assert padded.data.shape == (img.data.shape[0] + 5, img.data.shape[1], img.data.shape[2] + 1)
    assert np.allclose(padded.transfo_pix2phys([[2, 0, 1]]), img.transfo_pix2phys([[0, 0, 0]]))
    cropped = crop_image(img, 5, 20, 3, None, 0, 10)
    assert cropped.data.shape == (16, img.data.shape[1] - 3, 11)
    assert np.array_equal(cropped.data, img.data[5:21, 3:, 0:11])
    assert np.allclose(cropped.transfo_pix2phys([[0, 0, 0]]), img.transfo_pix2phys([[5, 3, 0]]))
    assert zeros_like(img).data.sum() == 0


def test_4d_split_and_require_3d(sct_testing_data):
    img = Image(sct_testing_data / "dmri" / "dmri.nii.gz")
    assert img.data.ndim == 4
    vols = split_img_data(img, 3)
    assert len(vols) == img.data.shape[3] and vols[0].data.ndim == 3
    with pytest.raises(ImageError, match="4-D"):
        img.copy().require_3d()


def test_not_nifti_and_missing(tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("hello")
    with pytest.raises(ImageError, match="Not a NIfTI"):
        Image(bad)
    with pytest.raises(FileNotFoundError):
        Image(tmp_path / "missing.nii.gz")


def test_int64_saved_as_int32(tmp_path):
    img = Image(np.arange(8, dtype=np.int64).reshape(2, 2, 2))
    img.save(tmp_path / "a.nii.gz")
    assert Image(tmp_path / "a.nii.gz").data.dtype == np.int32
