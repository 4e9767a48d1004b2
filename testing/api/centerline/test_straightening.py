"""Straightening: arc-length curvilinear maps, warping fields, accuracy on the t2 subject."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox import straightening as st
from spinalcordtoolbox.registration import warp

LPS = np.array([-1.0, -1.0, 1.0])


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    d = sct_testing_data / "t2"
    return Image(str(d / "t2.nii.gz")), Image(str(d / "t2_seg-manual.nii.gz")), Image(str(d / "labels.nii.gz"))


@pytest.fixture(scope="module")
def straightened(t2, tmp_path_factory):
    """Straighten t2 once and write its outputs (fields read back from disk by the tests)."""
    im, seg, _ = t2
    result = st.straighten(im, seg)
    folder = tmp_path_factory.mktemp("straight")
    paths = st.save_straightening(result, im, str(folder), interp="linear")
    return result, paths


def test_straightened_centerline_is_straight(t2, straightened):
    """Pull the segmentation through the written curve->straight field (ITK convention, as
    antsApplyTransforms does) and measure its per-slice centre of mass against the straight
    line through the grid centre: must be < 1 mm RMS (acceptance criterion)."""
    from spinalcordtoolbox.centerline.core import slice_centers_of_mass

    _, seg, _ = t2
    result, paths = straightened
    ref = Image(paths["straight_ref"])
    moved = warp.apply_transforms(seg, ref, [paths["warp_curve2straight"]], interp="linear")
    nx, ny = ref.data.shape[:2]
    px, py, _ = ref.pixdim
    for weights in ((moved.data >= 0.5).astype(float), np.clip(moved.data, 0, None)):
        z, x, y = slice_centers_of_mass(weights)
        dist = np.hypot((x - (nx - 1) / 2) * px, (y - (ny - 1) / 2) * py)[1:-1]  # ends: partial volume
        rms, dmax = np.sqrt(np.mean(dist ** 2)), dist.max()
        # measured: binarised 0.28 mm RMS / 0.49 mm max; weighted 0.10 / 0.20 mm
        assert rms < 0.5 and dmax < 1.0, (rms, dmax)
    # the value the command logs is the weighted measurement (before writing the field)
    assert result.rms_mm == pytest.approx(rms, abs=0.1)


def test_length_along_cord_preserved(t2, straightened):
    """The straight cord spans as many mm as the curved centerline's arc length (not its
    z-extent): straightening preserves distances along the cord."""
    _, seg, _ = t2
    result, paths = straightened
    ref = Image(paths["straight_ref"])
    moved = warp.apply_transforms(seg, ref, [paths["warp_curve2straight"]], interp="linear")
    slices = np.flatnonzero((moved.data >= 0.5).any(axis=(0, 1)))
    straight_len = (slices[-1] - slices[0]) * ref.pixdim[2]
    assert straight_len == pytest.approx(result.mapping.src.length, abs=2 * ref.pixdim[2])


def test_bent_tube_straightened_to_its_arc_length():
    """A synthetic 3 mm-radius tube bent on a circle (R = 40 mm, 60 degrees): slice-wise
    translations would give a straight cord as long as its z extent (34.6 mm) and an oval
    cross-section; straightening along the arc gives its arc length R*pi/3 = 41.9 mm and a
    round section of the same area."""
    R, half = 40.0, np.pi / 6
    shape = (50, 20, 50)
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])  # RPI, 1 mm
    affine[:3, 3] = [25.0, -10.0, -25.0]
    im = Image(np.zeros(shape, np.float32), affine=affine)
    world = st.grid_world(im)
    # circle centred at (x=-R, z=0) in the x-z plane; the tube spans angles [-half, half]
    rel = world - np.array([-R, 0.0, 0.0])
    ang = np.arctan2(rel[:, 2], rel[:, 0])
    radial = np.hypot(rel[:, 0], rel[:, 2]) - R
    inside = (np.hypot(radial, world[:, 1]) <= 3.0) & (np.abs(ang) <= half)
    seg = Image(inside.reshape(shape).astype(np.float32), affine=affine)
    result = st.straighten(seg, seg)
    assert result.mapping.src.length == pytest.approx(R * 2 * half, abs=1.5)
    assert result.rms_mm < 0.5
    straight = st.resample_through(seg, result.straight_ref, result.mapping.dest_to_src, order=1)
    mask = straight.data >= 0.5
    slices = np.flatnonzero(mask.any(axis=(0, 1)))
    assert (slices[-1] - slices[0] + 1) == pytest.approx(R * 2 * half, abs=2.0)
    # cross-sections keep the tube's area (pi * 3^2 = 28.3 mm2) in the middle slices
    areas = mask[:, :, slices[5]:slices[-5]].sum(axis=(0, 1))
    assert np.all(np.abs(areas - np.pi * 9) < 6), areas


def test_label_round_trip_through_fields(t2, straightened):
    """straight->curve o curve->straight, with both fields read back from disk, brings the
    disc labels back within 1 voxel (acceptance criterion; measured < 0.05 mm)."""
    _, _, labels = t2
    _, paths = straightened
    c2s_im, c2s = warp.read_warp(paths["warp_curve2straight"])
    s2c_im, s2c = warp.read_warp(paths["warp_straight2curve"])
    to_straight = warp.DisplacementField(s2c, s2c_im.affine)   # defined on the curved grid
    to_curved = warp.DisplacementField(c2s, c2s_im.affine)     # defined on the straight grid
    pts = np.array(list(st.label_points(labels).values())) * LPS
    back = to_curved.apply(to_straight.apply(pts))
    err = np.linalg.norm(back - pts, axis=1)
    assert err.max() < 1.0 * min(labels.pixdim), err
    assert err.max() < 0.2
    # and the labels really moved (the field is not the identity)
    assert np.linalg.norm(to_straight.apply(pts) - pts, axis=1).max() > 0.3


def test_circular_arc_analytic():
    """A tube bent on a circle of radius R = 80 mm over 60 degrees: its arc length is
    R*pi/3 = 83.8 mm; points at known curvilinear coordinates map back exactly."""
    R, theta = 80.0, np.linspace(0, np.pi / 3, 200)
    pts = np.column_stack([R * (1 - np.cos(theta)), np.zeros_like(theta), R * np.sin(theta)])
    curve = st.CordCurve.from_points(pts)
    assert curve.length == pytest.approx(R * np.pi / 3, rel=1e-4)
    s = np.array([10.0, 40.0, 70.0])
    a = np.array([3.0, -2.0, 0.5])
    b = np.array([-1.0, 4.0, 2.0])
    world = curve.from_curvilinear(s, a, b)
    s2, a2, b2 = curve.to_curvilinear(world)
    np.testing.assert_allclose(np.column_stack([s2, a2, b2]), np.column_stack([s, a, b]), atol=1e-3)
    # the in-plane frame is orthonormal and orthogonal to the tangent everywhere
    _, t, u, v = curve.frame_at(np.linspace(0, curve.length, 50))
    np.testing.assert_allclose(np.einsum("ij,ij->i", t, u), 0, atol=1e-9)
    np.testing.assert_allclose(np.einsum("ij,ij->i", u, v), 0, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(np.cross(u, v) - t, axis=1), 0, atol=1e-9)


def test_arc_length_map_modes():
    one = st.ArcLengthMap.from_landmarks([10.0], [3.0])
    np.testing.assert_allclose(one.to_src([0.0, 10.0, 30.0]), [-7.0, 3.0, 23.0])
    two = st.ArcLengthMap.from_landmarks([0.0, 20.0], [5.0, 45.0])  # scaling 2
    np.testing.assert_allclose(two.to_src([-5.0, 10.0, 30.0]), [-5.0, 25.0, 65.0])
    np.testing.assert_allclose(two.to_dest(two.to_src([1.0, 7.0])), [1.0, 7.0])
    with pytest.raises(st.StraighteningError, match="same order"):
        st.ArcLengthMap.from_landmarks([0.0, 20.0], [45.0, 5.0])


def test_labels_outside_segmentation_named(t2):
    """A label on a slice without cord is refused up front, naming its value and slice."""
    _, seg, labels = t2
    seg_cut = seg.copy()
    seg_rpi = seg_cut.copy().change_orientation("RPI")
    lab_rpi = labels.copy().change_orientation("RPI")
    z3 = int(np.argwhere(lab_rpi.data == 3)[0, 2])
    seg_rpi.data[:, :, z3 - 2:] = 0  # remove the cord above label 5's level, incl. label 3
    with pytest.raises(st.StraighteningError, match=rf"label 3 at z={z3}"):
        st.check_labels_in_segmentation(lab_rpi, seg_rpi)


def test_straighten_to_template_discs(t2, sct_testing_data):
    """-ldisc-input/-ldisc-dest/-dest: the straight space is the (straight) template and the
    subject's discs land on the template's discs along the cord (same slice, < 0.1 mm)."""
    from spinalcordtoolbox.image import crop_image

    _, seg, labels = t2
    tdir = sct_testing_data / "template" / "template"
    # the template region of discs 2..6 (z 201..235 at 2 mm) is enough and keeps the test fast
    dest = crop_image(Image(str(tdir / "PAM50_small_t2.nii.gz")), zmin=185, zmax=250)
    dest_labels = crop_image(Image(str(tdir / "PAM50_small_label_disc.nii.gz")), zmin=185, zmax=250)
    result = st.straighten(seg, seg, labels_input=labels, labels_dest=dest_labels, dest=dest)
    assert result.straight_ref.data.shape == dest.data.shape
    subject = st.label_points(labels)
    template = st.label_points(dest_labels)
    for v in (3, 5):
        moved = result.mapping.src_to_dest(subject[v][None])[0]
        assert moved[2] == pytest.approx(template[v][2], abs=0.1), v
    # the straightened cord is centred on the template's centerline (x, y of its labels)
    assert result.rms_mm < 1.0


def test_straighten_with_centerline_mask(t2, sct_testing_data):
    """-s may be a one-voxel-per-slice centerline: same straight cord (manual centerline:
    0.21 mm RMS measured), and its arc length agrees with the segmentation's within 1 mm."""
    im, seg, _ = t2
    ctl = Image(str(sct_testing_data / "t2" / "t2_centerline-manual.nii.gz"))
    result = st.straighten(im, ctl)
    assert np.isfinite(result.rms_mm) and result.rms_mm < 1.0
    assert result.mapping.src.length == pytest.approx(st.centerline_curve(seg).length, abs=1.0)
