"""sct_maths as the established toolbox runs it: operations chained in the order given, float
arithmetic, its output types (uint - uint -> int16 with negatives kept, uint / uint -> float64),
-percent, -shape square, -volumewise, -otsu-median."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts import sct_maths


@pytest.fixture
def masks(in_tmp, sct_testing_data):
    """A uint8 cord mask and a smaller uint8 'grey matter' mask inside it, plus one voxel outside."""
    seg = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    cord = (seg.data > 0).astype(np.uint8)
    from scipy import ndimage
    gm = ndimage.binary_erosion(cord, iterations=1).astype(np.uint8)
    gm[0, 0, 0] = 1                      # a "GM" voxel outside the cord: 0 - 1 must give -1
    Image(cord, hdr=seg.hdr, affine=seg.affine).change_type("uint8").save("sc.nii.gz")
    Image(gm, hdr=seg.hdr, affine=seg.affine).change_type("uint8").save("gm.nii.gz")
    return cord, gm


def _maths(*argv):
    assert sct_maths.main([str(a) for a in argv]) == 0


def test_course_wm_from_sc_minus_gm(masks):
    cord, gm = masks
    # the course line: sct_maths -i t2s_seg.nii.gz -sub t2s_gmseg.nii.gz -thr 0 -o t2s_wmseg.nii.gz
    _maths("-i", "sc.nii.gz", "-sub", "gm.nii.gz", "-thr", "0", "-o", "wm.nii.gz")
    wm = Image("wm.nii.gz").data
    assert wm.dtype == np.int16
    # -thr 0 zeroes values below 0: the GM voxel outside the cord (0 - 1 = -1) becomes 0, not 255
    assert np.array_equal(wm, np.clip(cord.astype(int) - gm.astype(int), 0, None))
    assert wm[0, 0, 0] == 0 and wm.min() == 0 and wm.sum() == cord.sum() - gm[cord > 0].sum()


def test_uint_minus_uint_keeps_negatives_as_int16(masks):
    cord, gm = masks
    _maths("-i", "sc.nii.gz", "-sub", "gm.nii.gz", "-o", "d.nii.gz")
    d = Image("d.nii.gz").data
    assert d.dtype == np.int16 and d[0, 0, 0] == -1 and d.max() == 1


def test_uint_div_uint_is_float64(masks):
    _maths("-i", "sc.nii.gz", "-div", "sc.nii.gz", "-o", "q.nii.gz")
    q = Image("q.nii.gz").data
    assert q.dtype == np.float64 and np.nanmax(q) == 1.0 and np.isnan(q).sum() > 0


def test_order_is_kept(masks):
    cord, _ = masks
    _maths("-i", "sc.nii.gz", "-add", "10", "-mul", "2", "-o", "a.nii.gz")
    _maths("-i", "sc.nii.gz", "-mul", "2", "-add", "10", "-o", "b.nii.gz")
    a, b = Image("a.nii.gz").data, Image("b.nii.gz").data
    assert np.array_equal(a, (cord + 10) * 2) and np.array_equal(b, cord * 2 + 10)
    assert a.dtype == np.uint8 and b.dtype == np.uint8     # integer results that fit keep uint8


def test_no_silent_wrap_on_overflow(masks):
    cord, _ = masks
    _maths("-i", "sc.nii.gz", "-mul", "300", "-o", "m.nii.gz")
    m = Image("m.nii.gz").data
    assert m.max() == 300 and m.dtype == np.int16          # widened, not wrapped to 44


def test_non_integer_number_gives_float(masks):
    _maths("-i", "sc.nii.gz", "-add", "0.5", "-o", "h.nii.gz")
    assert Image("h.nii.gz").data.dtype == np.float64 and Image("h.nii.gz").data.max() == 1.5


def test_percent_operation_and_modifier(in_tmp, sct_testing_data):
    t2 = Image(sct_testing_data / "t2" / "t2.nii.gz")
    t2.save("t2.nii.gz")
    d = t2.data
    _maths("-i", "t2.nii.gz", "-percent", "90", "-o", "p.nii.gz")
    p = Image("p.nii.gz").data
    assert p.dtype == np.uint8 and np.array_equal(p, d > np.percentile(d, 90))
    assert abs(p.mean() - 0.10) < 0.01
    _maths("-i", "t2.nii.gz", "-bin", "90", "-percent", "-o", "q.nii.gz")
    assert np.array_equal(Image("q.nii.gz").data, p)
    _maths("-i", "t2.nii.gz", "-percent", "-thr", "50", "-o", "r.nii.gz")
    r = Image("r.nii.gz").data
    assert r.dtype == d.dtype and np.array_equal(r, np.where(d < np.percentile(d, 50), 0, d))


def test_shape_square_is_2d_cube(masks):
    cord, _ = masks
    _maths("-i", "sc.nii.gz", "-dilate", "3", "-shape", "square", "-dim", "1", "-o", "s.nii.gz")
    from scipy import ndimage
    expected = ndimage.binary_dilation(cord, structure=np.ones((3, 1, 3), bool))
    assert np.array_equal(Image("s.nii.gz").data > 0, expected)
    # a 3x3 square adds at most one voxel each side, in plane only (axis 1 untouched)
    assert np.array_equal((Image("s.nii.gz").data > 0).any(axis=(0, 2)), cord.any(axis=(0, 2)))


def test_volumewise_and_otsu_median(in_tmp, sct_testing_data):
    dmri = Image(sct_testing_data / "dmri" / "dmri.nii.gz")
    dmri.save("dmri.nii.gz")
    _maths("-i", "dmri.nii.gz", "-volumewise", "1", "-otsu", "16", "-o", "o.nii.gz")
    from skimage.filters import threshold_otsu
    out = Image("o.nii.gz").data
    assert out.shape == dmri.data.shape
    for t in (0, 3):
        vol = dmri.data[..., t].astype(float)
        assert np.array_equal(out[..., t], vol > threshold_otsu(vol, nbins=16))
    # the whole-4D threshold is one value: it differs from the per-volume ones
    _maths("-i", "dmri.nii.gz", "-otsu", "16", "-o", "o4.nii.gz")
    assert not np.array_equal(Image("o4.nii.gz").data, out)
    from dipy.segment.mask import median_otsu
    vol0 = dmri.data[..., 0].astype(float)
    Image(vol0, hdr=dmri.hdr, affine=dmri.affine).save("b0.nii.gz")
    _maths("-i", "b0.nii.gz", "-otsu-median", "2,2", "-o", "mo.nii.gz")
    assert np.array_equal(Image("mo.nii.gz").data, median_otsu(vol0, median_radius=2, numpass=2)[1])


def test_sum_of_volumes_without_operand(in_tmp, sct_testing_data):
    dmri = Image(sct_testing_data / "dmri" / "dmri.nii.gz")
    dmri.save("dmri.nii.gz")
    _maths("-i", "dmri.nii.gz", "-add", "-o", "s.nii.gz")
    s = Image("s.nii.gz").data
    assert s.shape == dmri.data.shape[:3] and np.array_equal(s, dmri.data.astype(np.int64).sum(axis=3))
