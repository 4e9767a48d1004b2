"""Centerline fitting: analytic curves and the t2 manual segmentation."""
import numpy as np
import pytest

from spinalcordtoolbox.centerline.core import CenterlineError, get_centerline
from spinalcordtoolbox.image import Image


def _tube(shape, pixdim, center_fn, radius_mm):
    """A disc of ``radius_mm`` on every axial slice of an RPI image, centred at center_fn(z_mm) (mm)."""
    nx, ny, nz = shape
    px, py, pz = pixdim
    xx, yy = np.meshgrid(np.arange(nx) * px, np.arange(ny) * py, indexing="ij")
    data = np.zeros(shape, np.uint8)
    for z in range(nz):
        cx, cy = center_fn(z * pz)
        data[:, :, z] = (xx - cx) ** 2 + (yy - cy) ** 2 <= radius_mm ** 2
    # toolbox RPI = nibabel LAS: x axis flipped
    affine = np.diag([-px, py, pz, 1.0])
    return Image(data, affine=affine)


@pytest.mark.parametrize("algo", ["polyfit", "bspline", "linear", "nurbs"])
@pytest.mark.parametrize("orientation", ["RPI", "AIL", "SAL", "LPS"])
def test_straight_oblique_line(algo, orientation):
    # centre moves 0.3 mm in x and -0.2 mm in y per mm of z: fitted slope must be exact
    # (a line is reproduced by every algorithm), whatever the storage orientation.
    im = _tube((40, 40, 30), (0.5, 0.5, 1.0), lambda z: (5 + 0.3 * z, 14 - 0.2 * z), 2.5)
    im_o = im.copy().change_orientation(orientation)
    im_ctl, arr, der, fit = get_centerline(im_o, algo=algo, smooth=20)
    assert arr.shape == (3, 30)
    np.testing.assert_allclose(der[0, 3:-3], 0.3 * 1.0 / 0.5, atol=0.03)   # dx_vox/dz_vox
    np.testing.assert_allclose(der[1, 3:-3], -0.2 * 1.0 / 0.5, atol=0.03)
    np.testing.assert_allclose(der[2], 1)
    z_mm = arr[2] * 1.0
    np.testing.assert_allclose(arr[0] * 0.5, 5 + 0.3 * z_mm, atol=0.15)
    np.testing.assert_allclose(arr[1] * 0.5, 14 - 0.2 * z_mm, atol=0.15)
    assert fit["rmse"] < 0.15
    # centerline image: input grid and orientation, one voxel per slice
    assert im_ctl.data.shape == im_o.data.shape and im_ctl.orientation == orientation
    assert int(im_ctl.data.sum()) == 30
    # the physical tangent is the unit vector of (0.3, -0.2, 1) mm in RPI -> world RAS (-x)
    t = np.array([-0.3, -0.2, 1.0]) / np.linalg.norm([0.3, 0.2, 1.0])
    np.testing.assert_allclose(fit["phys_tangent"][10], t, atol=0.02)


def test_bspline_smoothing_removes_jitter_but_keeps_curvature():
    # sinusoid of wavelength 80 mm (kept by smooth=30) plus a +-1 voxel alternating jitter
    rng_sign = np.where(np.arange(60) % 2 == 0, 1.0, -1.0)
    im = _tube((50, 50, 60), (1, 1, 1), lambda z: (25 + 6 * np.sin(2 * np.pi * z / 80), 25), 3)
    im.data = np.roll(im.data, 0)
    for z in range(60):
        im.data[:, :, z] = np.roll(im.data[:, :, z], int(rng_sign[z]), axis=0)
    _, arr, _, fit = get_centerline(im, algo="bspline", smooth=30)
    truth = 25 + 6 * np.sin(2 * np.pi * arr[2] / 80)
    # 80 mm wavelength passes with gain 1/(1+(30/80)^4) = 0.98; jitter (2 mm) is removed
    assert np.abs(arr[0] - truth)[5:-5].max() < 0.4
    assert fit["rmse"] > 0.8  # the jitter is in the residual


def test_t2_manual_seg_matches_manual_centerline(sct_testing_data):
    im = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    ref = np.loadtxt(sct_testing_data / "t2" / "t2_centerline-manual.csv", delimiter=",")
    im_ctl, arr, der, fit = get_centerline(im, algo="bspline", smooth=30)
    # the seg covers all 55 RPI slices; manual centerline (integer voxels) within 1 voxel
    assert arr.shape == (3, 55)
    assert np.abs(arr.T - ref).max() < 1.0
    assert im_ctl.orientation == "AIL" and int(im_ctl.data.sum()) == 55
    # the same segmentation stored in RPI gives the same fit
    _, arr2, der2, _ = get_centerline(im.copy().change_orientation("RPI"))
    np.testing.assert_allclose(arr2, arr, atol=1e-9)
    np.testing.assert_allclose(der2, der, atol=1e-9)


def test_labels_and_minmax():
    data = np.zeros((20, 20, 40), np.uint8)
    data[5, 10, 5] = 1
    data[10, 10, 20] = 1
    data[15, 10, 35] = 1
    _, arr, der, _ = get_centerline(Image(data), algo="linear", smooth=0)
    assert arr.shape == (3, 31) and arr[2, 0] == 5
    np.testing.assert_allclose(arr[0, 20 - 5], 10, atol=1e-9)
    np.testing.assert_allclose(der[0, 2:-2], 1 / 3, atol=1e-9)
    _, arr, _, _ = get_centerline(Image(data), algo="polyfit", minmax=False)
    assert arr.shape == (3, 40)
    np.testing.assert_allclose(arr[0, 0], 5 - 5 / 3, atol=1e-6)  # line extrapolated


def test_empty_and_4d():
    with pytest.raises(CenterlineError, match="empty"):
        get_centerline(Image(np.zeros((5, 5, 5), np.uint8)))
    with pytest.raises(ValueError, match="4-D"):
        get_centerline(Image(np.ones((5, 5, 5, 2), np.uint8)))
    with pytest.raises(Exception, match="Did you mean 'bspline'"):
        get_centerline(Image(np.ones((5, 5, 5), np.uint8)), algo="bsplin")
