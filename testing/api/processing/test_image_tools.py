"""sct_image operations: split/concat round trip on dmri, flip, volumes, pad, headers; cropping."""
import numpy as np
import pytest

from spinalcordtoolbox.processing import cropping, image_tools
from spinalcordtoolbox.image import Image, ImageError


@pytest.fixture(scope="module")
def dmri(sct_testing_data):
    return Image(sct_testing_data / "dmri" / "dmri.nii.gz")


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    return Image(sct_testing_data / "t2" / "t2.nii.gz")


def test_split_concat_round_trip_dmri(dmri, tmp_path):
    parts = image_tools.split(dmri, "t")
    assert len(parts) == 7 and parts[0].data.shape == (40, 42, 5)
    names = image_tools.split_names("dmri", "t", 7)
    assert names[0] == "dmri_T0000.nii.gz" and names[6] == "dmri_T0006.nii.gz"
    for p, n in zip(parts, names):
        p.save(tmp_path / n)
    back = image_tools.concat([Image(tmp_path / n) for n in names], "t")
    assert np.array_equal(back.data, dmri.data) and back.data.dtype == dmri.data.dtype
    assert np.allclose(back.affine, dmri.affine)


def test_split_concat_spatial_keeps_world(t2):
    parts = image_tools.split(t2, "z")
    assert len(parts) == 52
    # voxel (3, 4) of slice 10 is voxel (3, 4, 10) of the volume, at the same world position
    assert np.allclose(parts[10].transfo_pix2phys([[3, 4, 0]]), t2.transfo_pix2phys([[3, 4, 10]]))
    back = image_tools.concat(parts, "z")
    assert np.array_equal(back.data, t2.data) and np.allclose(back.affine, t2.affine)


def test_flip_keeps_header(t2):
    out = image_tools.flip(t2, "y")
    assert np.array_equal(out.data, t2.data[:, ::-1, :]) and np.array_equal(out.affine, t2.affine)
    with pytest.raises(ImageError):
        image_tools.flip(t2, "t")


def test_keep_remove_volumes(dmri):
    assert np.array_equal(image_tools.select_volumes(dmri, [1, 3], keep=True).data, dmri.data[..., [1, 3]])
    assert image_tools.select_volumes(dmri, [0], keep=False).data.shape[3] == 6
    with pytest.raises(ImageError, match="out of range"):
        image_tools.select_volumes(dmri, [7], keep=True)


def test_pad_keeps_world_position(t2):
    out = image_tools.pad(t2, [1, 2, 3, 4, 5, 6])
    assert out.data.shape == (63, 62, 63)
    assert np.allclose(out.transfo_pix2phys([[1, 3, 5]]), t2.transfo_pix2phys([[0, 0, 0]]))
    assert out.data[1:61, 3:58, 5:57].sum() == t2.data.sum()
    assert image_tools.pad(t2, [0, 0, 2]).data.shape == (60, 55, 56)


def test_copy_header_and_qform_sform(t2, sct_testing_data):
    seg = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    out = image_tools.copy_header(t2, seg)
    assert np.array_equal(out.data, seg.data) and np.allclose(out.affine, t2.affine)
    shifted = t2.copy()
    sform = t2.hdr.get_sform()
    sform[:3, 3] += 5
    shifted.hdr.set_sform(sform, code=1)
    synced = image_tools.sync_qform_sform(shifted, "qform")
    assert np.allclose(synced.hdr.get_qform(), sform, atol=1e-4)
    synced = image_tools.sync_qform_sform(shifted, "sform")
    assert np.allclose(synced.hdr.get_sform(), shifted.hdr.get_qform(), atol=1e-4)


def test_crop_by_bounds_mask_and_reference(t2, sct_testing_data):
    seg = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    out = cropping.crop_with(t2, xmin=5, xmax=-6, zmin=10)
    assert out.data.shape == (50, 55, 42)
    assert np.allclose(out.transfo_pix2phys([[0, 0, 0]]), t2.transfo_pix2phys([[5, 0, 10]]))
    box = cropping.crop_with(t2, mask=seg, dilate=[2])
    idx = np.argwhere(seg.data)
    assert box.data.shape == tuple(np.minimum(idx.max(0) + 2, np.array(t2.data.shape) - 1)
                                   - np.maximum(idx.min(0) - 2, 0) + 1)
    back = cropping.crop_with(t2, ref=box)       # cropping to the crop's field of view: same box
    assert back.data.shape == box.data.shape and np.allclose(back.affine, box.affine)
    bg = cropping.crop_with(t2, xmin=5, xmax=10, background=0)
    assert bg.data.shape == t2.data.shape and bg.data[:5].sum() == 0 and np.array_equal(bg.data[5:11], t2.data[5:11])
    with pytest.raises(ImageError, match="Invalid crop range"):
        cropping.crop_with(t2, xmin=50, xmax=10)


def test_squeeze():
    img = Image(np.zeros((3, 4, 5, 1), np.float32))
    assert image_tools.squeeze(img).data.shape == (3, 4, 5)
