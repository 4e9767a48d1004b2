"""processing.maths: every sct_maths operation equals numpy/scipy/scikit-image on the same arrays (t2 data)."""
import numpy as np
import pytest
from scipy import ndimage

from spinalcordtoolbox.processing import maths
from spinalcordtoolbox.image import Image, ImageError, crop_image
from spinalcordtoolbox.processing.maths import MathError, apply_operation


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    # a 30x30x20 crop around the cord keeps the filters fast
    return crop_image(Image(sct_testing_data / "t2" / "t2.nii.gz"), 15, 44, 10, 39, 16, 35)


@pytest.fixture(scope="module")
def seg(sct_testing_data):
    return crop_image(Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"), 15, 44, 10, 39, 16, 35)


@pytest.fixture(scope="module")
def dmri(sct_testing_data):
    return Image(sct_testing_data / "dmri" / "dmri.nii.gz")


def test_arithmetic_with_numbers_and_images(t2, seg):
    d = t2.data
    assert np.array_equal(apply_operation(t2, "add", [2.5]).data, d + 2.5)
    assert np.array_equal(apply_operation(t2, "sub", [t2, 1.0]).data, d - d - 1.0)
    assert np.array_equal(apply_operation(t2, "mul", [seg]).data, d * seg.data)
    out = apply_operation(t2, "div", [2.0]).data
    assert np.allclose(out, d / 2.0) and out.dtype.kind == "f"  # never truncated back to int16
    assert np.array_equal(apply_operation(t2, "add", [seg, seg]).data, d + 2 * seg.data.astype(d.dtype))


def test_division_by_zero_is_not_hidden(t2, seg):
    out = apply_operation(t2, "div", [seg]).data
    assert np.isinf(out[(seg.data == 0) & (t2.data != 0)]).all()


def test_arithmetic_shape_mismatch(t2, dmri):
    with pytest.raises(ImageError, match=r"The input image \(30x30x20 vox of 1x1x1 mm, AIL, .*different dimensions"):
        apply_operation(t2, "add", [dmri])


def test_3d_operand_applies_to_each_volume(dmri):
    vol0 = Image(dmri.data[..., 0].copy(), hdr=dmri.hdr, affine=dmri.affine)
    out = apply_operation(dmri, "sub", [vol0]).data
    assert np.array_equal(out, dmri.data - dmri.data[..., :1])


@pytest.mark.parametrize("dim,axis", [("x", 0), ("y", 1), ("z", 2)])
def test_mean_rms_std_spatial(t2, dim, axis):
    d = t2.data.astype(float)
    assert np.allclose(apply_operation(t2, "mean", dim).data, d.mean(axis=axis, keepdims=True))
    assert np.allclose(apply_operation(t2, "rms", dim).data, np.sqrt((d ** 2).mean(axis=axis, keepdims=True)))
    assert np.allclose(apply_operation(t2, "std", dim).data, d.std(axis=axis, ddof=1, keepdims=True))


def test_mean_std_along_time(dmri):
    d = dmri.data.astype(float)
    mean = apply_operation(dmri, "mean", "t")
    assert mean.data.shape == d.shape[:3] and np.allclose(mean.data, d.mean(axis=3))
    assert np.allclose(apply_operation(dmri, "std", "t").data, d.std(axis=3, ddof=1))
    assert np.allclose(mean.affine, dmri.affine)


def test_thresholds(t2):
    d = t2.data
    assert np.array_equal(apply_operation(t2, "bin", 100.0).data, (d > 100).astype(np.uint8))
    assert np.array_equal(apply_operation(t2, "thr", (100.0, None)).data, np.where(d < 100, 0, d))
    assert np.array_equal(apply_operation(t2, "thr", (None, 300.0)).data, np.where(d > 300, 0, d))
    assert np.array_equal(apply_operation(t2, "thr", (100.0, 300.0)).data,
                          np.where((d < 100) | (d > 300), 0, d))
    p80 = np.percentile(d, 80)
    assert np.array_equal(apply_operation(t2, "bin", 80.0, percent=True).data, (d > p80).astype(np.uint8))
    # 20 % of the voxels are above the 80th percentile (ties aside)
    assert abs(apply_operation(t2, "bin", 80.0, percent=True).data.mean() - 0.2) < 0.01


def test_otsu_and_adaptive(t2):
    from skimage.filters import threshold_local, threshold_otsu

    d = t2.data
    assert np.array_equal(apply_operation(t2, "otsu", 64).data, (d > threshold_otsu(d, nbins=64)).astype(np.uint8))
    out = apply_operation(t2, "adap", [7, 0]).data
    for z in (0, 10, 19):
        sl = d[:, :, z].astype(float)
        assert np.array_equal(out[:, :, z], (sl > threshold_local(sl, 7, offset=0)).astype(np.uint8))


@pytest.mark.parametrize("shape,size", [("ball", 2), ("cube", 3), ("disk", 2)])
def test_dilate_erode_equal_scipy(seg, shape, size):
    fp = maths.footprint(shape, size)
    d = seg.data
    assert np.array_equal(apply_operation(seg, "dilate", size, shape=shape).data,
                          ndimage.grey_dilation(d, footprint=fp, mode="constant", cval=0))
    assert np.array_equal(apply_operation(seg, "erode", size, shape=shape).data,
                          ndimage.grey_erosion(d, footprint=fp, mode="constant", cval=0))
    # on a binary mask grey morphology is binary morphology
    assert np.array_equal(apply_operation(seg, "dilate", size, shape=shape).data.astype(bool),
                          ndimage.binary_dilation(d > 0, structure=fp))


def test_footprints_analytic():
    assert maths.footprint("ball", 1).sum() == 7          # centre + 6 face neighbours
    assert maths.footprint("cube", 3).sum() == 27
    disk = maths.footprint("disk", 2, dim=2)
    assert disk.sum() == 13 and disk[:, :, 2].sum() == 13    # radius-2 disk: 13 pixels, one plane
    assert maths.footprint("disk", 1, dim=0)[1].sum() == 5


def test_smooth_and_laplacian_sigma_in_mm(dmri):
    vol = Image(dmri.data[..., 0].copy(), hdr=dmri.hdr, affine=dmri.affine)
    px = vol.pixdim
    sig = [s / p for s, p in zip([1.0, 1.0, 2.0], px)]
    d = vol.data.astype(float)
    assert np.allclose(apply_operation(vol, "smooth", [1.0, 1.0, 2.0]).data, ndimage.gaussian_filter(d, sig))
    assert np.allclose(apply_operation(vol, "laplacian", [1.0, 1.0, 2.0]).data,
                       ndimage.gaussian_laplace(d, sig))
    # one value = same sigma in mm on every axis (anisotropic voxels: 0.84 x 0.84 x 17.5 mm)
    one = [0.5 / p for p in px]
    assert np.allclose(apply_operation(vol, "smooth", [0.5]).data, ndimage.gaussian_filter(d, one))


def test_symmetrize(t2):
    d = t2.data.astype(float)
    out = apply_operation(t2, "symmetrize", 0).data
    assert np.allclose(out, (d + d[::-1]) / 2) and np.allclose(out, out[::-1])


def test_denoise_equals_dipy(t2):
    from dipy.denoise.nlmeans import nlmeans
    from dipy.denoise.noise_estimate import estimate_sigma

    small = crop_image(t2, 0, 19, 0, 19, 0, 5)
    d = small.data.astype(float)
    sigma = float(np.atleast_1d(estimate_sigma(d, N=0))[0])
    expected = nlmeans(d, sigma=sigma, patch_radius=1, block_radius=2, rician=True, num_threads=1)
    assert np.allclose(apply_operation(small, "denoise", "p=1,b=2").data, expected)
    assert maths.parse_denoise("p=2,b=3") == (2, 3)
    with pytest.raises(MathError):
        maths.parse_denoise("q=2")


def test_mutual_information_analytic():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, size=(20, 20, 20)).astype(float)
    # MI of an image with itself = its entropy: 4 equiprobable values -> ln 4
    assert maths.mutual_information(a, a, nbins=4) == pytest.approx(np.log(4), abs=0.01)
    assert maths.mutual_information(a, a, nbins=4, normalized=True) == pytest.approx(1.0)
    b = rng.integers(0, 4, size=(20, 20, 20)).astype(float)
    assert maths.mutual_information(a, b, nbins=4) < 0.01   # independent images
    assert maths.correlation(a, 2 * a + 1) == pytest.approx(1.0)


def test_similarity_on_images(t2):
    assert maths.similarity(t2, t2, "corr") == pytest.approx(1.0)
    assert maths.similarity(t2, t2, "minorm") == pytest.approx(1.0)
