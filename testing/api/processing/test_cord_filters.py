"""Filters that follow the cord: smoothing along the cord keeps edges across it and lowers
noise along it by the Gaussian's factor; sagittal flattening puts the cord on the mid plane."""
import numpy as np
import pytest
from scipy import ndimage

from spinalcordtoolbox.processing.cord_filters import flatten_sagittal, smooth_along_cord
from spinalcordtoolbox.image import Image

N, NZ = 41, 48


def _phantom(xc_of_z, value):
    """RPI 1 mm grid; a cord of radius 3 mm centred on x = xc(z), y = 20; ``value(x, xc)``."""
    x, y, z = np.meshgrid(np.arange(N), np.arange(N), np.arange(NZ), indexing="ij")
    xc = xc_of_z(z)
    seg = ((x - xc) ** 2 + (y - 20) ** 2 <= 9).astype(np.uint8)
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])
    return Image(value(x, xc).astype(np.float32), affine=affine), Image(seg, affine=affine)


def test_noise_along_a_straight_cord_drops_by_the_gaussian_factor():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 10, (N, N, NZ))
    im, seg = _phantom(lambda z: 20.0 + 0 * z, lambda x, xc: 100 + noise)
    out = smooth_along_cord(im, seg, sigma_mm=(0, 0, 3))
    # straight cord through voxel centres: the straight grid is the input grid, so the result is
    # a 1-D Gaussian along z (sigma 3 voxels) of the input
    expected = ndimage.gaussian_filter1d(im.data.astype(float), 3.0, axis=2, mode="nearest")
    # away from the in-plane border and from the cord's ends (the kernel reaches 12 slices)
    inner = (slice(5, -5), slice(5, -5), slice(13, -13))
    np.testing.assert_allclose(out.data[inner], expected[inner], atol=0.05)
    # white noise std drops by sqrt(sum of the squared kernel weights) = 0.307 for sigma 3
    x = np.arange(-12, 13)
    w = np.exp(-x ** 2 / 18.0)
    factor = np.sqrt(np.sum((w / w.sum()) ** 2))
    ratio = np.std(out.data[inner] - 100) / np.std(noise[inner])
    assert abs(ratio / factor - 1) < 0.05


def test_step_across_a_curved_cord_stays_sharp():
    def xc(z):
        return 20.0 + 4.0 * np.sin(2 * np.pi * z / NZ)

    rng = np.random.default_rng(1)
    noise = rng.normal(0, 5, (N, N, NZ))
    # left of the cord's centre 100, right 200: a step that follows the cord
    im, seg = _phantom(xc, lambda x, c: np.where(x < c, 100.0, 200.0) + noise)
    out = smooth_along_cord(im, seg, sigma_mm=(0, 0, 3)).data

    def width(profile):
        lo, hi = profile.min(), profile.max()
        above = np.flatnonzero(profile > lo + 0.9 * (hi - lo))
        below = np.flatnonzero(profile < lo + 0.1 * (hi - lo))
        return above.min() - below.max()

    iso = ndimage.gaussian_filter(im.data.astype(float), 3.0)
    widths_out, widths_iso = [], []
    for z in range(10, NZ - 10, 4):
        prof_out = ndimage.gaussian_filter1d(out[10:31, 20, z], 0.01)
        widths_out.append(width(out[10:31, 20, z]))
        widths_iso.append(width(iso[10:31, 20, z]))
        # the edge stays at the cord centre (within a voxel)
        half = np.flatnonzero(prof_out >= 150)[0] + 10
        assert abs(half - xc(z)) <= 1.0
    # 10-90 % rise: 2-3 voxels along the cord (spline interpolation rings a little), against 6+
    # voxels for an isotropic 3 mm Gaussian
    assert max(widths_out) <= 3 and min(widths_iso) >= 6
    # along the cord the noise drops (inside the cord, away from the edge)
    c = [(int(round(xc(z))) - 2, z) for z in range(10, NZ - 10)]
    res_in = np.std([noise[x, 20, z] for x, z in c])
    res_out = np.std([out[x, 20, z] - 100 for x, z in c])
    assert res_out < 0.6 * res_in


def test_flatten_puts_the_cord_on_the_mid_sagittal_plane():
    im, seg = _phantom(lambda z: 8.0 + 0.5 * z, lambda x, c: 50.0 * (np.abs(x - c) <= 3))
    out = flatten_sagittal(im, im).data
    for z in range(2, NZ - 2, 5):
        profile = out[:, 20, z]
        centre = np.sum(np.arange(N) * profile) / profile.sum()
        assert abs(centre - 20) < 0.3
    with pytest.raises(Exception, match="same voxel grid"):
        flatten_sagittal(im, Image(seg.data[:-1], affine=seg.affine))
