"""Warping fields: ITK convention, exchange with ANTs, composition, application, inversion."""
import os

import numpy as np
import pytest

os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "2")

from spinalcordtoolbox.metrics.similarity import dice  # noqa: E402
from spinalcordtoolbox.image import Image  # noqa: E402
from spinalcordtoolbox.registration import warp  # noqa: E402
from spinalcordtoolbox.utils.cli import SCTError  # noqa: E402



@pytest.fixture(scope="module")
def t2(sct_testing_data):
    return Image(str(sct_testing_data / "t2" / "t2.nii.gz"))


@pytest.fixture(scope="module")
def smooth_field(t2):
    """A smooth random displacement field on the t2 grid (|d| up to ~6 mm)."""
    from scipy.ndimage import gaussian_filter
    rng = np.random.default_rng(0)
    return np.stack([gaussian_filter(rng.normal(size=t2.data.shape), 4) * 40 for _ in range(3)], -1)


@pytest.fixture(scope="module")
def ants_affine(tmp_path_factory):
    """An ANTs-written affine (.mat) with a centre, to check the ITK parameterisation."""
    import ants
    path = str(tmp_path_factory.mktemp("aff") / "aff.mat")
    tx = ants.create_ants_transform(
        transform_type="AffineTransform", dimension=3,
        matrix=np.array([[0.98, 0.1, 0], [-0.1, 0.97, 0.05], [0, 0.02, 1.03]]),
        offset=[3, -2, 5], center=[1, 20, -5])
    ants.write_transform(tx, path)
    return path, tx


def test_template_cord_onto_t2_matches_manual_seg_and_ants(sct_testing_data, t2):
    """The ITK LPS convention: template cord through warp_template2anat lands on the manual seg."""
    import ants
    d = sct_testing_data
    src_path = str(d / "template" / "template" / "PAM50_small_cord.nii.gz")
    w = str(d / "t2" / "warp_template2anat.nii.gz")
    out = warp.apply_transforms(Image(src_path), t2, [w], interp="linear")
    manual = Image(str(d / "t2" / "t2_seg-manual.nii.gz")).data
    # 0.951 was measured with an independent implementation (conventions.md); measured here: 0.951
    assert dice(out.data, manual) >= 0.93
    ref = ants.apply_transforms(ants.image_read(str(d / "t2" / "t2.nii.gz")), ants.image_read(src_path),
                                [w], interpolator="linear").numpy()
    assert np.abs(ref - out.data).max() < 1e-4
    assert out.data.shape == t2.data.shape and np.allclose(out.affine, t2.affine)


def test_written_field_is_read_by_ants_identically(tmp_path, t2, smooth_field):
    import ants
    import nibabel as nib
    path = str(tmp_path / "w.nii.gz")
    warp.write_warp(smooth_field, t2, path)
    nii = nib.load(path)
    assert nii.shape == t2.data.shape + (1, 3)
    assert nii.get_data_dtype() == np.float32
    assert int(nii.header["intent_code"]) == 1007
    _, back = warp.read_warp(path)
    assert np.allclose(back, smooth_field, atol=1e-5)
    mine = warp.apply_transforms(t2, t2, [path], interp="linear").data
    a_t2 = ants.image_read(t2.absolutepath)
    ref = ants.apply_transforms(a_t2, a_t2, [path], interpolator="linear").numpy()
    assert np.abs(mine - ref).max() < 1e-2  # float32 rounding on values up to ~1200
    nn = warp.apply_transforms(t2, t2, [path], interp="nn").data
    ref_nn = ants.apply_transforms(a_t2, a_t2, [path], interpolator="nearestNeighbor").numpy()
    assert np.mean(nn != ref_nn) < 1e-3


def test_affine_files_and_mixed_chains_match_ants(tmp_path, t2, smooth_field, ants_affine):
    import ants
    mat, tx = ants_affine
    # parameterisation: same point mapping as ANTs' own transform object
    p = np.array([[10.0, 20.0, 30.0], [-4.0, 7.0, 1.0]])
    expected = np.array([tx.apply_to_point(tuple(q)) for q in p])
    assert np.allclose(warp.read_affine(mat).apply(p), expected, atol=1e-5)
    field = str(tmp_path / "w.nii.gz")
    warp.write_warp(smooth_field, t2, field)
    a_t2 = ants.image_read(t2.absolutepath)
    # (antspy silently inverts a leading .mat unless whichtoinvert is explicit)
    for chain, inv in (([mat, field], [False, False]), ([field, mat], [False, True])):
        mine = warp.apply_transforms(t2, t2, chain, inverse=inv).data
        ref = ants.apply_transforms(a_t2, a_t2, chain, whichtoinvert=inv, interpolator="linear").numpy()
        assert np.abs(mine - ref).max() < 1e-2
    # our text writer round-trips and ANTs reads it
    txt = str(tmp_path / "aff.txt")
    warp.write_affine(warp.read_affine(mat), txt)
    from_txt = ants.apply_transforms(a_t2, a_t2, [txt], whichtoinvert=[False]).numpy()
    from_mat = ants.apply_transforms(a_t2, a_t2, [mat], whichtoinvert=[False]).numpy()
    assert np.abs(from_txt - from_mat).max() < 1e-2


def test_concat_with_identity_affine_gives_same_image(tmp_path, sct_testing_data, t2):
    d = sct_testing_data
    w = str(d / "t2" / "warp_template2anat.nii.gz")
    identity = str(tmp_path / "identity.txt")
    warp.write_affine(warp.AffineTransform(np.eye(3), np.zeros(3)), identity)
    composed = warp.compose_warps([identity, w], t2)
    path = str(tmp_path / "concat.nii.gz")
    warp.write_warp(composed, t2, path)
    src = Image(str(d / "template" / "template" / "PAM50_small_cord.nii.gz"))
    a = warp.apply_transforms(src, t2, [w]).data
    b = warp.apply_transforms(src, t2, [path]).data
    assert np.abs(a - b).max() < 1e-4


def test_compose_matches_the_toolbox_concatenated_warp(sct_testing_data):
    """warp_template2mt = concat(template2anat, t22mt1) made by the established toolbox."""
    d = sct_testing_data
    mt1 = Image(str(d / "mt" / "mt1.nii.gz"))
    natural = [str(d / "t2" / "warp_template2anat.nii.gz"), str(d / "mt" / "warp_t22mt1.nii.gz")]
    chain, inv = warp.natural_to_ants(natural)
    mine = warp.compose_warps(chain, mt1, inverse=inv)
    _, gold = warp.read_warp(str(d / "mt" / "warp_template2mt.nii.gz"))
    # ANTs marks points mapped outside a field's domain with float max: compare the others
    ok = (np.abs(gold) < 1e4).all(-1) & (np.abs(mine) < 1e4).all(-1)
    assert ok.sum() > 4000
    assert np.abs(mine[ok] - gold[ok]).max() < 1e-3  # mm; measured 5e-5


def test_field_inverse_composes_to_identity(t2, smooth_field):
    field = warp.DisplacementField(smooth_field.astype(np.float32), t2.affine)
    inv = field.inverse()
    # interior points (away from the zero-displacement outside)
    vox = np.array([[20, 20, 20], [30, 25, 26], [40, 30, 30]], dtype=float)
    pts = t2.transfo_pix2phys(vox) * [-1, -1, 1]
    assert np.abs(inv.apply(field.apply(pts)) - pts).max() < 0.05


def test_label_interpolation_keeps_every_label(tmp_path, sct_testing_data, t2):
    labels = Image(str(sct_testing_data / "t2" / "labels.nii.gz"))
    # a pure translation of (2, -3, 1) voxels expressed as an affine: labels must move exactly
    shift_vox = np.array([2.0, -3.0, 1.0])
    shift_lps = (t2.affine[:3, :3] @ shift_vox) * [-1, -1, 1]
    path = str(tmp_path / "shift.txt")
    warp.write_affine(warp.AffineTransform(np.eye(3), shift_lps), path)
    out = warp.apply_transforms(labels, t2, [path], interp="label")
    before = {int(v): np.array(p) for *p, v in labels.nonzero_coords()}
    after = {int(v): np.array(p) for *p, v in out.nonzero_coords()}
    assert set(after) == set(before)
    for v in before:
        assert np.allclose(after[v], before[v] - shift_vox)


def test_4d_images_are_resampled_volume_by_volume(tmp_path, sct_testing_data):
    dmri = Image(str(sct_testing_data / "dmri" / "dmri.nii.gz"))
    path = str(tmp_path / "shift.txt")
    warp.write_affine(warp.AffineTransform(np.eye(3), [1.5, -0.5, 2.0]), path)
    ref = Image(dmri)
    ref.data = ref.data[..., 0]
    ref.hdr.set_data_shape(ref.data.shape)
    out = warp.apply_transforms(dmri, ref, [path])
    assert out.data.shape == dmri.data.shape
    for v in (0, dmri.data.shape[3] - 1):
        vol = Image(dmri.data[..., v], hdr=ref.hdr, affine=ref.affine)
        assert np.allclose(out.data[..., v], warp.apply_transforms(vol, ref, [path]).data)


def test_bad_inputs(tmp_path, t2):
    with pytest.raises(warp.WarpError, match="not a displacement field"):
        warp.read_warp(t2.absolutepath)
    with pytest.raises(FileNotFoundError):
        warp.apply_transforms(t2, t2, [str(tmp_path / "missing.nii.gz")])
    with pytest.raises(SCTError, match="Did you mean 'nn'|Allowed: nn, linear"):
        warp.apply_transforms(t2, t2, [], interp="cubic")
    with pytest.raises(warp.WarpError, match="not in -w"):
        warp.natural_to_ants(["a.nii.gz"], ["b.txt"])


def test_fsl_conversion_analytic_and_round_trip(tmp_path, sct_testing_data):
    """Hand-derived case: destination RAS 2 mm (neurological: FSL mirrors x), source LAS 1 mm.

    A constant ITK displacement (1, 2, 3) LPS mm = (-1, -2, 3) RAS moves destination voxel
    (i, j, k) (RAS 2i, 2j, 2k) to source voxel (20 - 2i, 2j - 2, 2k + 3), whose FSL coordinate
    minus the destination's FSL coordinate ((9 - i) * 2, 2j, 2k) is (2, -2, 3) everywhere.
    """
    dest = Image(np.zeros((10, 10, 10), dtype=np.float32), affine=np.diag([2.0, 2.0, 2.0, 1.0]))
    src_affine = np.diag([-1.0, 1.0, 1.0, 1.0])
    src_affine[0, 3] = 19.0
    src = Image(np.zeros((20, 20, 20), dtype=np.float32), affine=src_affine)
    disp = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (10, 10, 10, 3))
    fsl = warp.itk_to_fsl(disp, dest, src)
    assert np.allclose(fsl, [2.0, -2.0, 3.0], atol=1e-5)
    assert np.allclose(warp.fsl_to_itk(fsl, dest, src), disp, atol=1e-5)
    # files: the toolbox's template->t2 field through FSL format and back
    d = sct_testing_data
    w = str(d / "t2" / "warp_template2anat.nii.gz")
    tmpl = str(d / "template" / "template" / "PAM50_small_t2.nii.gz")
    out = warp.convert_warp(w, tmpl, str(tmp_path / "fsl.nii.gz"), to_fsl=True)
    assert out.data.shape == (60, 55, 52, 3) and int(out.hdr["intent_code"]) == 2006
    warp.convert_warp(str(tmp_path / "fsl.nii.gz"), tmpl, str(tmp_path / "itk.nii.gz"), to_fsl=False)
    _, a = warp.read_warp(w)
    _, b = warp.read_warp(str(tmp_path / "itk.nii.gz"))
    ok = (np.abs(a) < 1e4).all(-1)  # the toolbox marks outside points with float max
    assert np.abs(a - b)[ok].max() < 1e-3


def test_crop_to_the_valid_region_of_the_field(tmp_path, t2):
    # field valid (small shift) inside a box, marked invalid (float max, as ANTs does) outside
    disp = np.full(t2.data.shape + (3,), np.finfo(np.float32).max, dtype=np.float32)
    disp[10:40, 5:30, 20:31] = 0.5
    path = str(tmp_path / "w.nii.gz")
    warp.write_warp(disp, t2, path)
    zeroed = warp.apply_transforms(t2, t2, [path], crop=1)
    assert zeroed.data.shape == t2.data.shape
    assert not zeroed.data[:10].any() and not zeroed.data[:, 31:].any()
    cropped = warp.apply_transforms(t2, t2, [path], crop=2)
    assert cropped.data.shape == (30, 25, 11)
    assert np.allclose(cropped.affine[:3, 3], t2.transfo_pix2phys([[10, 5, 20]])[0])
    assert np.array_equal(cropped.data, zeroed.data[10:40, 5:30, 20:31])
