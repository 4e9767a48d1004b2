"""metrics.snr: the three methods recover the simulated SNR (signal 100, noise sigma 5 -> SNR 20)."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image

S, SIGMA = 100.0, 5.0
SHAPE = (40, 40, 4)


@pytest.fixture(scope="module")
def series():
    """20 repetitions: a disc of signal S in the centre; magnitude of complex noise everywhere."""
    rng = np.random.default_rng(1)
    x, y = np.meshgrid(np.arange(SHAPE[0]), np.arange(SHAPE[1]), indexing="ij")
    disc = ((x - 20) ** 2 + (y - 20) ** 2 < 8 ** 2)[..., None] * np.ones(SHAPE[2], bool)
    n = 20
    real = S * disc[..., None] + rng.normal(0, SIGMA, SHAPE + (n,))
    imag = rng.normal(0, SIGMA, SHAPE + (n,))
    # magnitude: Gaussian-like inside the disc (SNR 20), Rayleigh in the background
    mag = np.where(disc[..., None], real, np.hypot(real, imag))
    corner = np.zeros(SHAPE, bool)
    corner[:10, :10, :] = True
    aff = np.diag([0.5, 0.5, 3.0, 1.0])
    return {"im": Image(mag.astype(np.float32), affine=aff),
            "mask": Image(disc.astype(np.uint8), affine=aff),
            "noise": Image(corner.astype(np.uint8), affine=aff)}


def test_diff_and_mult(series):
    from spinalcordtoolbox.metrics.snr import compute_snr

    snr, _ = compute_snr(series["im"], series["mask"], "diff", vol=[0, 1])
    assert snr == pytest.approx(S / SIGMA, rel=0.08)
    snr, snr_map = compute_snr(series["im"], series["mask"], "mult")
    assert snr == pytest.approx(S / SIGMA, rel=0.05)
    assert snr_map.data.shape == SHAPE


def test_single_with_rayleigh_background(series):
    from spinalcordtoolbox.metrics.snr import RAYLEIGH_FACTOR, compute_snr

    snr, _ = compute_snr(series["im"], series["mask"], "single", im_noise=series["noise"], vol=[3])
    assert snr == pytest.approx(S / SIGMA, rel=0.08)
    raw, _ = compute_snr(series["im"], series["mask"], "single", im_noise=series["noise"], vol=[3],
                         rayleigh=False)
    assert snr == pytest.approx(raw * RAYLEIGH_FACTOR)
    assert RAYLEIGH_FACTOR == pytest.approx(0.655, abs=1e-3)


def test_errors(series):
    from spinalcordtoolbox.metrics.snr import compute_snr
    from spinalcordtoolbox.utils.cli import SCTError

    with pytest.raises(SCTError, match="exactly 2 volumes"):
        compute_snr(series["im"], series["mask"], "diff", vol=[0, 1, 2])
    with pytest.raises(SCTError, match="noise mask"):
        compute_snr(series["im"], series["mask"], "single", vol=[0])
    with pytest.raises(SCTError, match="volumes 0 to 19"):
        compute_snr(series["im"], series["mask"], "diff", vol=[0, 30])
