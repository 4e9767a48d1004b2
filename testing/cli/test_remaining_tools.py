"""sct_smooth_spinalcord, sct_flatten_sagittal, sct_denoising_onlm on sct_testing_data."""
import numpy as np

from spinalcordtoolbox.image import Image
from helpers.checks import exit_code as _main



def test_smooth_and_flatten_t2(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts import sct_flatten_sagittal, sct_smooth_spinalcord

    t2 = sct_testing_data / "t2"
    # the course lines (t1 there; t2 here)
    assert _main(sct_smooth_spinalcord, ["-i", t2 / "t2.nii.gz", "-s", t2 / "t2_seg-manual.nii.gz"]) == 0
    src, out = Image(t2 / "t2.nii.gz"), Image("t2_smooth.nii.gz")
    assert out.data.shape == src.data.shape and np.allclose(out.affine, src.affine)
    seg = Image(t2 / "t2_seg-manual.nii.gz").data > 0
    # inside the cord the mean is kept (within 2 %) and the variation along the cord drops
    assert abs(out.data[seg].mean() / src.data[seg].mean() - 1) < 0.02
    rpi_src = src.copy().change_orientation("RPI").data.astype(float)
    rpi_out = out.copy().change_orientation("RPI").data.astype(float)
    d_src = np.abs(np.diff(rpi_src[20:32, 25:35, 10:45], axis=2)).mean()
    d_out = np.abs(np.diff(rpi_out[20:32, 25:35, 10:45], axis=2)).mean()
    assert d_out < 0.6 * d_src
    assert _main(sct_flatten_sagittal, ["-i", t2 / "t2.nii.gz", "-s", t2 / "t2_seg-manual.nii.gz"]) == 0
    flat = Image("t2_flatten.nii.gz").change_orientation("RPI").data
    assert flat.shape == rpi_src.shape
    assert _main(sct_flatten_sagittal, ["-i", t2 / "t2_seg-manual.nii.gz", "-s", t2 / "t2_seg-manual.nii.gz",
                                        "-x", "linear", "-o", "seg_flat.nii.gz"]) == 0
    seg_flat = Image("seg_flat.nii.gz").change_orientation("RPI").data
    nx = seg_flat.shape[0]
    for z in range(5, 50, 5):
        w = seg_flat[:, :, z].sum(axis=1)
        if w.sum():
            assert abs(np.sum(np.arange(nx) * w) / w.sum() - (nx - 1) / 2) < 0.6


def test_denoising_onlm(in_tmp):
    from dipy.denoise.nlmeans import nlmeans

    from spinalcordtoolbox.scripts import sct_denoising_onlm

    rng = np.random.default_rng(0)
    clean = np.zeros((24, 24, 12))
    clean[6:18, 6:18, :] = 300.0
    noisy = clean + rng.normal(0, 20, clean.shape)
    Image(noisy.astype(np.float32), affine=np.eye(4)).save("noisy.nii.gz")
    assert _main(sct_denoising_onlm, ["-i", "noisy.nii.gz", "-p", "Gaussian", "-std", "20",
                                      "-block-radius", "3", "-v", "0"]) == 0
    out = Image("noisy_denoised.nii.gz").data
    ref = nlmeans(noisy.astype(np.float32).astype(np.float64), sigma=20.0, patch_radius=1, block_radius=3,
                  rician=False, num_threads=1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-3)
    inside = (slice(8, 16), slice(8, 16), slice(2, 10))
    assert np.std(out[inside]) < 0.5 * 20 and abs(out[inside].mean() - 300) < 3
    # the default noise estimate: std of the values below -d 80 (the background here)
    assert _main(sct_denoising_onlm, ["-i", "noisy.nii.gz", "-o", "d2.nii.gz", "-v", "0"]) == 0
