"""Per-slice CSA/shape metrics and their aggregation: analytic shapes and the t2 manual segmentation."""
import math

import numpy as np
import pytest

from spinalcordtoolbox.image import Image, ImageError
from spinalcordtoolbox.shape.process_seg import compute_shape


def _soft_tube(shape, pixdim, radius_mm, slope_x=0.0, slope_y=0.0, semi_axes=None, n_sub=4):
    """Partial-volume tube in an RPI image: axis through the image centre with direction
    (slope_x, slope_y, 1) in mm; circular section of ``radius_mm`` orthogonal to the axis,
    or an axial ellipse with ``semi_axes`` (x, y) mm for a straight tube.
    Voxel values = fraction of n_sub**3 sub-samples inside (exact area up to sampling)."""
    nx, ny, nz = shape
    px, py, pz = pixdim
    off = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    cx, cy, cz = (nx - 1) * px / 2, (ny - 1) * py / 2, (nz - 1) * pz / 2
    axis = np.array([slope_x, slope_y, 1.0])
    axis /= np.linalg.norm(axis)
    data = np.zeros(shape, np.float32)
    X, Y = np.meshgrid(np.arange(nx) * px, np.arange(ny) * py, indexing="ij")
    for z in range(nz):
        acc = np.zeros((nx, ny))
        for ox in off:
            for oy in off:
                for oz in off:
                    dx = X + ox * px - cx
                    dy = Y + oy * py - cy
                    dz = (z + oz) * pz - cz
                    if semi_axes is not None:
                        inside = (dx / semi_axes[0]) ** 2 + (dy / semi_axes[1]) ** 2 <= 1
                    else:
                        along = dx * axis[0] + dy * axis[1] + dz * axis[2]
                        d2 = dx ** 2 + dy ** 2 + dz ** 2 - along ** 2
                        inside = d2 <= radius_mm ** 2
                    acc += inside
        data[:, :, z] = acc / n_sub ** 3
    return Image(data, affine=np.diag([-px, py, pz, 1.0]))  # RPI (nibabel LAS)


def _band_chord(a, b=None, h=1.5):
    """Mean AP thickness of an ellipse (RL semi-axis a, AP semi-axis b) over the band |u| <= h
    mm around its centre: the established diameter_AP (b = a: a disc)."""
    b = a if b is None else b
    return (b / a) * (h * math.sqrt(a * a - h * h) + a * a * math.asin(h / a)) / h


def _inner(values, n=3):
    """Values on slices with cord, without the ``n`` first and last ones (never empty)."""
    v = values[~np.isnan(values)]
    v = v[n:len(v) - n]
    assert v.size > 0
    return v


@pytest.mark.parametrize("pixdim", [(0.5, 0.5, 0.5), (0.4, 0.7, 2.0)])
@pytest.mark.parametrize("orientation", ["RPI", "AIL", "PSR", "LAS"])
def test_straight_cylinder_area(pixdim, orientation):
    # area of a disc of radius 4 mm = pi * 16 = 50.27 mm2; diameters 8 mm; eccentricity ~0
    r = 4.0
    shape = (int(14 / pixdim[0]), int(14 / pixdim[1]), 8)
    im = _soft_tube(shape, pixdim, r).change_orientation(orientation)
    m, _ = compute_shape(im)
    area = _inner(m["area"], 0)
    np.testing.assert_allclose(area, math.pi * r ** 2, rtol=0.01)
    np.testing.assert_allclose(_inner(m["diameter_AP_ellipse"], 0), 2 * r, rtol=0.02)
    # the mid-line diameter: mean chord over 3 mm (7.808 mm for r = 4), split at the centre
    np.testing.assert_allclose(_inner(m["diameter_AP"], 0), _band_chord(r), rtol=0.01)
    np.testing.assert_allclose(_inner(m["length_anterior"], 0), _band_chord(r) / 2, rtol=0.02)
    np.testing.assert_allclose(m["length_anterior"] + m["length_posterior"], m["diameter_AP"], rtol=1e-12)
    np.testing.assert_allclose(_inner(m["diameter_RL"], 0), 2 * r, rtol=0.02)
    assert np.nanmax(m["eccentricity"]) < 0.2
    np.testing.assert_allclose(_inner(m["angle_AP"], 0), 0, atol=0.1)
    np.testing.assert_allclose(_inner(m["length"], 0), pixdim[2], rtol=1e-4)


def test_binary_cylinder_area():
    # binary disc, radius 20 voxels of 0.25 mm (5 mm): pixel count is within 0.5 % of pi r^2
    n = 60
    xx, yy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    disc = ((xx - 29.5) ** 2 + (yy - 29.5) ** 2 <= 20 ** 2).astype(np.uint8)
    im = Image(np.repeat(disc[:, :, None], 6, axis=2), affine=np.diag([-0.25, 0.25, 1, 1]))
    m, _ = compute_shape(im)
    np.testing.assert_allclose(m["area"], math.pi * 25, rtol=0.01)
    np.testing.assert_allclose(m["diameter_RL"], 10, rtol=0.01)


@pytest.mark.parametrize("direction", ["x", "y"])
def test_tilted_cylinder_30deg(direction):
    # cylinder of radius 4 mm tilted by 30 deg: its axial section is an ellipse of area
    # pi r^2 / cos(30); the angle correction must give back pi r^2 (orthogonal section).
    r, tilt = 4.0, math.tan(math.radians(30))
    sx, sy = (tilt, 0.0) if direction == "x" else (0.0, tilt)
    shape = (64, 30, 24) if direction == "x" else (30, 64, 24)
    im = _soft_tube(shape, (0.5, 0.5, 1.0), r, slope_x=sx, slope_y=sy, n_sub=3)
    m, _ = compute_shape(im, angle_correction=True)
    np.testing.assert_allclose(_inner(m["area"]), math.pi * r ** 2, rtol=0.01)
    angle = m["angle_AP"] if direction == "x" else m["angle_RL"]
    np.testing.assert_allclose(_inner(angle), 30, atol=0.5)
    # shape in the orthogonal plane: a circle again
    np.testing.assert_allclose(_inner(m["diameter_RL"]), 2 * r, rtol=0.03)
    np.testing.assert_allclose(_inner(m["diameter_AP_ellipse"]), 2 * r, rtol=0.03)
    np.testing.assert_allclose(_inner(m["diameter_AP"]), _band_chord(r), rtol=0.03)
    # length of the centerline per 1-mm slice = 1 / cos(30)
    np.testing.assert_allclose(_inner(m["length"]), 1 / math.cos(math.radians(30)), rtol=0.01)
    m0, _ = compute_shape(im, angle_correction=False)
    np.testing.assert_allclose(_inner(m0["area"]), math.pi * r ** 2 / math.cos(math.radians(30)),
                               rtol=0.01)
    stretched = m0["diameter_RL"] if direction == "x" else m0["diameter_AP_ellipse"]
    np.testing.assert_allclose(_inner(stretched), 2 * r / math.cos(math.radians(30)), rtol=0.03)
    if direction == "y":   # the AP thickness itself stretched by 1 / cos(30)
        np.testing.assert_allclose(_inner(m0["diameter_AP"]), _band_chord(r) / math.cos(math.radians(30)),
                                   rtol=0.03)


@pytest.mark.parametrize("semi_axes,rl_longer", [((6.0, 4.0), True), ((3.5, 5.0), False)])
def test_ellipse_diameters_eccentricity(semi_axes, rl_longer):
    a, b = semi_axes
    im = _soft_tube((36, 36, 4), (0.5, 0.5, 1.0), None, semi_axes=semi_axes)
    m, _ = compute_shape(im)
    np.testing.assert_allclose(m["area"], math.pi * a * b, rtol=0.01)
    np.testing.assert_allclose(m["diameter_RL"], 2 * a, rtol=0.02)
    np.testing.assert_allclose(m["diameter_AP_ellipse"], 2 * b, rtol=0.02)
    np.testing.assert_allclose(m["diameter_AP"], _band_chord(a, b), rtol=0.02)
    big, small = max(a, b), min(a, b)
    np.testing.assert_allclose(m["eccentricity"], math.sqrt(1 - (small / big) ** 2), atol=0.01)
    np.testing.assert_allclose(m["orientation"], 0 if rl_longer else 90, atol=1)
    np.testing.assert_allclose(m["solidity"], 1, atol=0.02)


# ---------------------------------------------------------------- t2 manual segmentation
@pytest.fixture(scope="module")
def t2(sct_testing_data):
    seg = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    m, fit = compute_shape(seg, progress=False)
    return seg, m


def _reference_area(seg: Image):
    """Independent reference: voxel count per RPI slice x voxel area (1 mm2) x cos(angle)
    of a degree-3 polynomial fitted through the per-slice centroids (numpy only).
    Returns (ref_area, voxel_count)."""
    data = seg.copy().change_orientation("RPI").data > 0
    idx = np.argwhere(data)
    z = np.unique(idx[:, 2])
    cx = np.array([idx[idx[:, 2] == k, 0].mean() for k in z])
    cy = np.array([idx[idx[:, 2] == k, 1].mean() for k in z])
    dx = np.polyval(np.polyder(np.polyfit(z, cx, 3)), z)
    dy = np.polyval(np.polyder(np.polyfit(z, cy, 3)), z)
    count = data.sum(axis=(0, 1))[z].astype(float)
    return count * np.cos(np.arctan(dx)) * np.cos(np.arctan(dy)), count


def test_t2_per_slice_area_matches_reference(t2):
    seg, m = t2
    ref, count = _reference_area(seg)
    area = m["area"]
    assert np.count_nonzero(~np.isnan(area)) == 55
    # angle correction only lowers the area, and by < 1 % (cord tilt < 8 deg here)
    assert np.all(area <= count + 1e-9) and np.all(area >= 0.99 * count)
    # the two centerline fits differ most at the ends of the cord, where a spline and a
    # polynomial extrapolate differently: 1 % there, 0.5 % elsewhere
    np.testing.assert_allclose(area, ref, rtol=0.01)
    np.testing.assert_allclose(area[3:-3], ref[3:-3], rtol=0.005)
    # whole-cord mean: voxel count mean is 77.62 mm2, angle-corrected reference 77.55 mm2
    assert abs(np.nanmean(area) - ref.mean()) / ref.mean() < 0.001
    assert 77.4 < np.nanmean(area) < 77.7


def test_t2_per_level_area(t2, sct_testing_data):
    from spinalcordtoolbox.shape.aggregate_slicewise import aggregate, levels_per_slice, select_slices

    seg, m = t2
    levels = levels_per_slice(Image(sct_testing_data / "t2" / "t2_seg-manual_labeled.nii.gz"))
    ref, _ = _reference_area(seg)
    slices = select_slices(m, levels=levels, vert=[2, 3])
    rows = aggregate(m, slices, levels=levels, perlevel=True)
    assert [(r["Slice (I->S)"], r["VertLevel"]) for r in rows] == [("18:35", "3"), ("36:52", "2")]
    for row, (lo, hi) in zip(rows, [(18, 35), (36, 52)]):
        np.testing.assert_allclose(row["MEAN(area)"], ref[lo:hi + 1].mean(), rtol=0.002)
        np.testing.assert_allclose(row["STD(area)"], m["area"][lo:hi + 1].std(), rtol=1e-9)
        np.testing.assert_allclose(row["SUM(length)"], np.sum(m["length"][lo:hi + 1]), rtol=1e-9)
    # C3 is larger than C2 in this subject (reference: 81.1 vs 77.5 mm2)
    assert rows[0]["MEAN(area)"] > rows[1]["MEAN(area)"]


def test_t2_rpi_and_native_orientation_identical(t2):
    seg, m = t2
    m2, _ = compute_shape(seg.copy().change_orientation("RPI"), progress=False)
    for k in m:
        np.testing.assert_allclose(m2[k], m[k], rtol=1e-9, atol=1e-9, equal_nan=True)


def test_soft_segmentation_partial_volume(t2):
    seg, m = t2
    soft = seg.copy()
    soft.data = seg.data.astype(np.float32) * 0.6
    ms, _ = compute_shape(soft, progress=False)
    # same centerline (centres of mass unchanged): area scales with the partial volume
    np.testing.assert_allclose(ms["area"], 0.6 * m["area"], rtol=1e-6)


def test_levels_from_discs_agree_with_level_image(sct_testing_data):
    from spinalcordtoolbox.shape.aggregate_slicewise import levels_from_discs, levels_per_slice

    tpl = sct_testing_data / "template" / "template"
    discs = levels_from_discs(Image(tpl / "PAM50_small_label_disc.nii.gz"))   # discs 2..19
    ref = levels_per_slice(Image(tpl / "PAM50_small_levels.nii.gz"))
    both = ~np.isnan(discs) & ~np.isnan(ref)
    assert both.sum() > 180
    # levels between consecutive discs match the template's level image except at the
    # boundary slices (measured: 95 % of slices equal, never more than one level apart)
    assert np.mean(discs[both] == ref[both]) > 0.9
    assert np.abs(discs[both] - ref[both]).max() <= 1


def test_pmj_distance(sct_testing_data):
    from spinalcordtoolbox.shape.morphometry import morphometry

    tpl = sct_testing_data / "template" / "template"
    res = morphometry(Image(tpl / "PAM50_small_cord.nii.gz"),
                      im_pmj=Image(tpl / "PAM50_small_t2_pmj_manual.nii.gz"),
                      pmj_distance=64, pmj_extent=30)
    dist = res.pmj_dist
    # PMJ at slice 257, 2-mm slices: distance >= the straight 2 mm per slice; the centerline
    # bends by 10 mm (AP) between the top of the cord (slice 236) and the PMJ, which adds
    # ~1.2 mm (sqrt(42^2 + 10^2) = 43.2 mm); below, the template cord is straight
    for z in (236, 150, 38):
        assert 2 * (257 - z) <= dist[z] <= 2 * (257 - z) + 1.5
    (row,) = res.rows
    lo, hi = (int(v) for v in row["Slice (I->S)"].split(":"))
    assert abs(dist[lo] - 64) <= 16 and abs(dist[hi] - 64) <= 16 and hi - lo + 1 in (15, 16)
    assert row["DistancePMJ"] == 64
    # template C3 CSA (mm2): plausible adult value
    assert 60 < row["MEAN(area)"] < 75


def test_normalize_pam50(sct_testing_data, pam50):
    from spinalcordtoolbox.shape.aggregate_slicewise import levels_per_slice
    from spinalcordtoolbox.shape.morphometry import morphometry

    labeled = Image(sct_testing_data / "t2" / "t2_seg-manual_labeled.nii.gz")
    res = morphometry(Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"), im_vertfile=labeled,
                      normalize_pam50=True,
                      pam50_levels_path=pam50 / "template" / "PAM50_levels.nii.gz")
    # as the established toolbox: the PAM50 slices of the levels the subject covers (C2-C5:
    # 31 + 37 + 37 + 33 = 138 rows), the partial C5 (3 subject slices) kept on the PAM50 slices
    # it covers: 112 rows with values (the established figures on this input)
    assert res.used_levels == [2, 3, 4, 5]
    assert len(res.rows) == 138
    assert sum(r["MEAN(area)"] is not None for r in res.rows) == 112
    levels = levels_per_slice(labeled)
    res_native = morphometry(Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"))
    pam = res.pam50_levels
    sub = res.metrics["area"]
    for lev in (2, 3):
        subj = np.nanmean(sub[pam == lev])
        assert np.all(~np.isnan(sub[pam == lev]))
        # stretching a level onto PAM50 keeps its mean area (linear interpolation): within 1 %
        native = np.nanmean(res_native.metrics["area"][levels == lev])
        np.testing.assert_allclose(subj, native, rtol=0.01)
        assert len([r for r in res.rows if r["VertLevel"] == str(lev)]) == np.count_nonzero(pam == lev)
    assert np.all(np.isnan(sub[pam == 6]))
    # the partial C5 is anchored at its boundary with C4: its values sit on the top PAM50 C5 slices
    c5 = np.flatnonzero(pam == 5)
    assert np.all(~np.isnan(sub[c5[-7:]])) and np.all(np.isnan(sub[c5[:-7]]))


def test_errors(sct_testing_data):
    from spinalcordtoolbox.shape.morphometry import morphometry

    seg = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    with pytest.raises(ImageError, match="empty"):
        compute_shape(Image(np.zeros((5, 5, 5), np.uint8)))
    with pytest.raises(ImageError, match="4-D"):
        compute_shape(Image(np.ones((5, 5, 5, 3), np.uint8)))
    labeled = Image(sct_testing_data / "t2" / "t2_seg-manual_labeled.nii.gz")
    with pytest.raises(ImageError, match=r"level\(s\) 7,8 not found"):
        morphometry(seg, vert="7:8", im_vertfile=labeled)
    with pytest.raises(ImageError, match="different dimensions"):
        morphometry(seg, vert="2:3", im_vertfile=Image(np.zeros((10, 10, 10), np.uint8)))


def test_shape_helpers_match_scikit_image():
    # the per-slice ellipse fit, solidity and component filter are numpy re-implementations
    # (no scipy/skimage import at start-up); they must equal skimage/scipy exactly
    from scipy.ndimage import label
    from skimage.draw import ellipse
    from skimage.measure import regionprops

    from spinalcordtoolbox.shape.process_seg import _ellipse_properties, _keep_largest_component

    rng = np.random.default_rng(1)
    for _ in range(60):
        a, b = rng.uniform(2, 60, 2)
        m = np.zeros((140, 140), bool)
        rr, cc = ellipse(70, 70, a, b, rotation=rng.uniform(0, np.pi), shape=m.shape)
        m[rr, cc] = True
        x0, y0 = rng.integers(5, 130, 2)
        m[x0:x0 + rng.integers(1, 15), y0:y0 + rng.integers(1, 15)] = True
        lab, n = label(m, structure=np.ones((3, 3)))
        sizes = np.bincount(lab.ravel())[1:]
        kept = _keep_largest_component(m.astype(float)) > 0
        if list(sizes).count(sizes.max()) == 1:
            np.testing.assert_array_equal(kept, lab == np.argmax(sizes) + 1)
        r = regionprops(kept.astype(np.uint8))[0]
        p = _ellipse_properties(kept, 0.1)
        np.testing.assert_allclose(p["solidity"], r.solidity, rtol=1e-12)
        np.testing.assert_allclose(p["eccentricity"], r.eccentricity, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(max(p["diameter_AP"], p["diameter_RL"]), r.axis_major_length * 0.1,
                                   rtol=1e-9)
        # signed, as scikit-image (equal modulo 180 degrees at the +-90 boundary)
        diff = (p["orientation"] - np.degrees(r.orientation) + 90) % 180 - 90
        assert abs(diff) < 1e-6


def test_angle_correction_centerline_file():
    # tilted cylinder (30 deg): its own fitted centerline as -angle-corr-centerline gives the
    # same areas as the default; a vertical centerline gives the uncorrected area / cos(30)
    from spinalcordtoolbox.centerline.core import get_centerline

    r, tilt = 4.0, math.tan(math.radians(30))
    im = _soft_tube((64, 30, 24), (0.5, 0.5, 1.0), r, slope_x=tilt, n_sub=3)
    ctl, _, _, _ = get_centerline(im)
    m_default, _ = compute_shape(im)
    m_file, _ = compute_shape(im, im_centerline=ctl)
    # the centerline image is rounded to voxels: its fit gives the same tilt within ~1 deg
    np.testing.assert_allclose(_inner(m_file["area"]), _inner(m_default["area"]), rtol=0.01)
    vertical = np.zeros(im.data.shape, np.uint8)
    vertical[10, 15, :] = 1
    m_vert, _ = compute_shape(im, im_centerline=Image(vertical, affine=im.affine))
    np.testing.assert_allclose(_inner(m_vert["area"]), math.pi * r ** 2 / math.cos(math.radians(30)),
                               rtol=0.01)
    with pytest.raises(ImageError, match="different dimensions"):
        compute_shape(im, im_centerline=Image(vertical[:, :, :10], affine=im.affine))


def test_labeled_seg_is_binarised_and_single_slice(t2, sct_testing_data):
    seg, m = t2
    # a labeled segmentation (values 2..5) is binarised (warning), giving the binary results
    labeled = Image(sct_testing_data / "t2" / "t2_seg-manual_labeled.nii.gz")
    ml, _ = compute_shape(labeled, progress=False)
    both = ~np.isnan(ml["area"])
    assert both.sum() >= 50
    ref = seg.copy().change_orientation("RPI").data > 0
    lab = labeled.copy().change_orientation("RPI").data > 0
    same = [z for z in np.flatnonzero(both) if np.array_equal(ref[:, :, z], lab[:, :, z])]
    np.testing.assert_allclose(ml["area"][same], m["area"][same], rtol=0.01)
    # one slice only: no tilt can be estimated, area = voxel count (1 mm2 voxels)
    one = seg.copy().change_orientation("RPI")
    one.data = one.data.copy()
    one.data[:, :, :27] = 0
    one.data[:, :, 28:] = 0
    m1, _ = compute_shape(one, progress=False)
    assert np.count_nonzero(~np.isnan(m1["area"])) == 1
    assert m1["area"][27] == one.data[:, :, 27].sum() and m1["angle_AP"][27] == 0


def test_soft_segmentation_stored_scaled_is_not_binarised(t2, tmp_path):
    """A soft segmentation stored as uint8 with scl_slope = 1/255 (float32) reads back with a
    maximum of 1.00000006: that rounding is no label value, the partial volume is kept."""
    import nibabel as nib

    seg, m = t2
    rpi = seg.copy().change_orientation("RPI")
    raw = np.where(rpi.data > 0, 153, 0).astype(np.uint8)  # 153 / 255 = 0.6
    raw[tuple(np.argwhere(raw[:, :, 27])[0]) + (27,)] = 255  # one voxel fully in the cord
    hdr = nib.Nifti1Header()
    hdr.set_data_dtype(np.uint8)
    hdr.set_slope_inter(np.float32(1 / 255), 0)
    img = nib.Nifti1Image(raw, rpi.hdr.get_best_affine(), hdr)
    img.header.set_slope_inter(np.float32(1 / 255), 0)
    img.to_filename(str(tmp_path / "soft.nii.gz"))
    soft = Image(str(tmp_path / "soft.nii.gz"))
    assert soft.data.max() > 1  # the rounding of the stored scaling
    ms, _ = compute_shape(soft, progress=False)
    others = [z for z in range(rpi.data.shape[2]) if abs(z - 27) > 3 and not np.isnan(m["area"][z])]
    assert len(others) >= 40
    np.testing.assert_allclose(ms["area"][others], 0.6 * m["area"][others], rtol=1e-3)
