"""metrics.qmri: MTR, MTsat/T1 (Helms 2008) and Ernst angle on analytic signals."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image


def _im(data):
    return Image(np.asarray(data, dtype=np.float32), affine=np.diag([0.5, 0.5, 2.0, 1.0]))


def test_mtr_formula_undefined_and_clipped():
    from spinalcordtoolbox.metrics.qmri import compute_mtr

    mt0 = np.array([[[100.0, 200.0, 0.0, 10.0, 50.0]]])
    mt1 = np.array([[[60.0, 150.0, 5.0, 30.0, np.inf]]])
    out = compute_mtr(_im(mt0), _im(mt1)).data
    np.testing.assert_allclose(out[0, 0, :2], [40.0, 25.0])
    assert np.isnan(out[0, 0, 2]) and np.isnan(out[0, 0, 4])    # mt0 = 0, non-finite mt1
    assert out[0, 0, 3] == -100.0                                # -200 % clipped
    assert compute_mtr(_im(mt0), _im(mt1), threshold=150).data[0, 0, 3] == -150.0
    assert out.dtype == np.float32


def _flash(a_deg, tr, r1, amp, delta=0.0):
    """Small flip-angle FLASH signal with MT saturation delta (Helms 2008, eq. 2-4)."""
    a = np.radians(a_deg)
    return amp * a * r1 * tr / (r1 * tr + a ** 2 / 2 + delta)


def test_mtsat_and_t1_recover_the_simulated_tissue():
    from spinalcordtoolbox.metrics.qmri import compute_mtsat

    t1 = np.array([0.8, 1.0, 1.4, 2.5])[None, None, :]          # s (WM, GM, ..., CSF-like)
    delta = np.array([0.02, 0.015, 0.01, 0.001])[None, None, :]  # MTsat (fraction)
    amp = 1000.0
    tr_mt, tr_pd, tr_t1, fa_mt, fa_pd, fa_t1 = 0.030, 0.030, 0.015, 9, 9, 15
    s_mt = _flash(fa_mt, tr_mt, 1 / t1, amp, delta)
    s_pd = _flash(fa_pd, tr_pd, 1 / t1, amp)
    s_t1 = _flash(fa_t1, tr_t1, 1 / t1, amp)
    mtsat, t1map = compute_mtsat(_im(s_mt), _im(s_pd), _im(s_t1), tr_mt, tr_pd, tr_t1, fa_mt, fa_pd, fa_t1)
    np.testing.assert_allclose(t1map.data, t1, rtol=1e-5)
    np.testing.assert_allclose(mtsat.data, 100 * delta, rtol=1e-4)
    # B1 correction (Weiskopf 2013): nominal B1 leaves MTsat unchanged, B1 = 1.1 scales by 0.6/0.56
    b1 = np.full(t1.shape, 1.1)
    corrected, _ = compute_mtsat(_im(s_mt), _im(s_pd), _im(s_t1), tr_mt, tr_pd, tr_t1, fa_mt, fa_pd, fa_t1,
                                 im_b1=_im(b1))
    np.testing.assert_allclose(corrected.data, mtsat.data * 0.6 / 0.56, rtol=1e-5)


def test_mtsat_invalid_voxels_are_zero():
    from spinalcordtoolbox.metrics.qmri import compute_mtsat

    pd = np.array([[[0.0, 100.0]]])
    t1w = np.array([[[0.0, 0.0]]])
    mtsat, t1map = compute_mtsat(_im(pd), _im(pd), _im(t1w), 0.03, 0.03, 0.015, 9, 9, 15)
    assert np.all(mtsat.data == 0) and np.all(t1map.data == 0)   # 0/0, negative R1: no value


def test_ernst_angle():
    from spinalcordtoolbox.metrics.qmri import ernst_angle

    # the established toolbox's expected value for TR 2000 ms, T1 850 ms
    assert ernst_angle(2000, 850) == pytest.approx(84.543553255, abs=1e-8)
    assert ernst_angle(30, 850) == pytest.approx(np.degrees(np.arccos(np.exp(-30 / 850))))
