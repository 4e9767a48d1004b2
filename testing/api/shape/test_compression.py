"""Compression ratios: analytic narrowed cord and the t2 subject (no compression)."""
import numpy as np
import pytest

from spinalcordtoolbox.shape.compression import compute_compression
from spinalcordtoolbox.image import Image, ImageError


def _narrowed_cord(b_at_compression=2.5, a=5.0, b=4.0, nz=60, zc=30, half_width=2):
    """Straight elliptic cord (semi-axes a=RL, b=AP mm, 0.5 x 0.5 x 1 mm voxels), AP semi-axis
    reduced to ``b_at_compression`` on slices zc +/- half_width. Soft (partial volume) voxels."""
    n, p, sub = 40, 0.5, 4
    off = ((np.arange(sub) + 0.5) / sub - 0.5) * p
    X, Y = np.meshgrid(np.arange(n) * p - 9.75, np.arange(n) * p - 9.75, indexing="ij")
    data = np.zeros((n, n, nz), np.float32)
    for z in range(nz):
        bz = b_at_compression if abs(z - zc) <= half_width else b
        acc = sum(((X + ox) / a) ** 2 + ((Y + oy) / bz) ** 2 <= 1 for ox in off for oy in off)
        data[:, :, z] = acc / sub ** 2
    seg = Image(data, affine=np.diag([-p, p, 1.0, 1.0]))
    labels = np.zeros(data.shape, np.uint8)
    labels[20, 20, zc] = 1
    return seg, Image(labels, affine=seg.affine)


def test_analytic_ap_compression():
    seg, lab = _narrowed_cord(b_at_compression=2.5)
    (r,) = compute_compression(seg, lab, metric="diameter_AP")
    # AP diameter 5 mm at the compression, 8 mm elsewhere: (1 - 5/8) * 100 = 37.5 %
    assert r["slice"] == 30
    np.testing.assert_allclose(r["mi"], 5.0, rtol=0.02)
    np.testing.assert_allclose([r["ma"], r["mb"]], 8.0, rtol=0.02)
    np.testing.assert_allclose(r["ratio"], 37.5, atol=1.5)
    # area: pi*5*2.5 vs pi*5*4 -> (1 - 2.5/4) * 100 = 37.5 % too
    (ra,) = compute_compression(seg, lab, metric="area")
    np.testing.assert_allclose(ra["ratio"], 37.5, atol=1.0)
    # RL diameter is unchanged: ratio ~ 0
    (rr,) = compute_compression(seg, lab, metric="diameter_RL")
    assert abs(rr["ratio"]) < 2


def test_t2_uncompressed_and_hc_normalised(sct_testing_data, pam50, pam50_normalized_metrics):
    t2 = sct_testing_data / "t2"
    seg = Image(t2 / "t2_seg-manual.nii.gz")
    labels = np.zeros(seg.data.shape, np.uint8)
    rpi = Image(labels, hdr=seg.hdr, affine=seg.affine).change_orientation("RPI")
    rpi.data[26, 27, 27] = 1          # mid C3 (RPI slice 27), a healthy cord
    lab = rpi.change_orientation(seg.orientation)
    (r,) = compute_compression(seg, lab, Image(t2 / "t2_seg-manual_labeled.nii.gz"),
                               metric="diameter_AP", normalize_hc=True,
                               hc_folder=pam50_normalized_metrics,
                               pam50_levels_path=pam50 / "template" / "PAM50_levels.nii.gz")
    assert r["level"] == 3 and r["slice"] == 27
    # no compression in this healthy subject: a few percent at most, normalised or not
    print("t2 C3 diameter_AP ratio", r["ratio"], "normalised", r["ratio_norm"])
    assert abs(r["ratio"]) < 8 and abs(r["ratio_norm"]) < 8
    # the established toolbox gives -4.71 % here (diameter_AP along the AP mid-line): ours -4.73
    assert abs(r["ratio"] - (-4.71)) < 0.1
    with pytest.raises(ImageError, match="does not extend far enough"):
        compute_compression(seg, lab, metric="diameter_AP", distance=30, extent=20)


def test_hc_filters(pam50_normalized_metrics):
    from spinalcordtoolbox.shape.hc_database import HCDatabaseError, load_hc

    df = load_hc(pam50_normalized_metrics, sex="F", age=(20, 30), metrics=["area"])
    n = df["participant_id"].nunique()
    assert 10 < n < 203
    with pytest.raises(HCDatabaseError):
        load_hc(pam50_normalized_metrics, age=(150, 160))
