"""Stitching: a volume cut into two overlapping chunks with different gains comes back whole."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image, crop_image


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    return Image(sct_testing_data / "t2" / "t2.nii.gz").change_orientation("RPI")


def test_two_chunks_with_different_gains(t2, in_tmp):
    from spinalcordtoolbox.scripts import sct_image

    rng = np.random.default_rng(0)
    n = t2.data.shape[2]
    low = crop_image(t2, zmin=0, zmax=34)                  # slices 0-34
    high = crop_image(t2, zmin=22, zmax=n - 1)             # slices 22-54: 13 slices of overlap
    noise = 0.01 * t2.data.std()
    low.data = low.data * 1.0 + rng.normal(0, noise, low.data.shape)
    high.data = high.data * 1.7 + rng.normal(0, noise, high.data.shape)   # a gain of 1.7
    low.save("low.nii.gz")
    high.save("high.nii.gz")
    assert sct_image.main(["-i", "high.nii.gz", "low.nii.gz", "-stitch", "-o", "s.nii.gz", "-qc", "qc"]) == 0
    out = Image("s.nii.gz")
    assert out.data.shape == t2.data.shape and np.allclose(out.affine, t2.affine, atol=1e-4)
    ref = t2.data.astype(float)
    tissue = ref > np.percentile(ref, 30)
    for zs in (slice(22, 35), slice(0, n)):                # the overlap, then the whole volume
        o, r = out.data[:, :, zs], ref[:, :, zs]
        m = tissue[:, :, zs]
        assert abs(o[m].mean() / r[m].mean() - 1) < 0.02
        assert np.median(np.abs(o[m] - r[m]) / r[m]) < 0.02
    # no seam: the mean of each slice across the overlap boundaries follows the original
    prof = out.data.reshape(-1, n).mean(axis=0) / ref.reshape(-1, n).mean(axis=0)
    assert np.all(np.abs(prof[20:38] - 1) < 0.02)
    assert (in_tmp / "qc" / "index.html").is_file()
