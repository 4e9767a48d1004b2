"""dmri/: gradient files, b=0/DWI separation, tensor fitting (analytic phantoms), Patch2Self."""
import numpy as np
import pytest

from spinalcordtoolbox.dmri import gradients
from spinalcordtoolbox.dmri.dti import compute_dti
from spinalcordtoolbox.dmri.separate import concat_b0_dwi, separate_b0_dwi
from spinalcordtoolbox.image import Image
from spinalcordtoolbox.utils.cli import SCTError


@pytest.fixture(scope="module")
def dmri(sct_testing_data):
    d = sct_testing_data / "dmri"
    return Image(str(d / "dmri.nii.gz")), d / "bvecs.txt", d / "bvals.txt"


# ------------------------------------------------------------------ gradient files
def test_bvecs_both_layouts_and_transpose(dmri, tmp_path):
    _, bvec_path, _ = dmri
    rows = gradients.read_bvecs(bvec_path)          # the test file has one row per volume
    assert rows.shape == (7, 3)
    assert np.allclose(rows[1], [1, 0, 0]) and np.allclose(rows[0], 0)
    assert gradients.transpose_bvecs(bvec_path, tmp_path / "fsl.txt") == "fsl"
    text = (tmp_path / "fsl.txt").read_text().splitlines()
    assert len(text) == 3 and len(text[0].split()) == 7
    assert np.allclose(gradients.read_bvecs(tmp_path / "fsl.txt"), rows, atol=1e-9)
    assert gradients.transpose_bvecs(tmp_path / "fsl.txt", tmp_path / "rows.txt") == "rows"
    assert np.allclose(np.loadtxt(tmp_path / "rows.txt"), rows, atol=1e-9)


def test_bad_gradient_files(tmp_path):
    (tmp_path / "b.txt").write_text("1 2 3 4\n5 6 7 8\n")
    with pytest.raises(SCTError, match="2 rows of 4 values"):
        gradients.read_bvecs(tmp_path / "b.txt")
    (tmp_path / "r.txt").write_text("1 2 3\n4 5\n")
    with pytest.raises(SCTError, match="different lengths"):
        gradients.read_bvecs(tmp_path / "r.txt")


def test_b0_detection():
    vecs = np.array([[0, 0, 0], [1, 0, 0], [0, 0.005, 0], [0, 1, 0]])
    assert gradients.b0_mask(vecs).tolist() == [True, False, True, False]
    vals = np.array([0, 1000, 40, 1000])
    assert gradients.b0_mask(vecs, vals).tolist() == [True, False, False, False]
    assert gradients.b0_mask(vecs, vals, bvalmin=50).tolist() == [True, False, True, False]


def test_compute_bvalue_stejskal_tanner():
    # b = (gamma G delta)^2 (Delta - delta/3): G = 40 mT/m, delta = 30 ms, Delta = 40 ms
    expected = (2.675222005e8 * 0.04 * 0.03) ** 2 * (0.04 - 0.01) * 1e-6
    assert gradients.compute_bvalue(40, 40, 30) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(3091.74, abs=0.01)
    with pytest.raises(SCTError, match="exceeds"):
        gradients.compute_bvalue(40, 10, 30)


# ------------------------------------------------------------------ separation
def test_separate_matches_numpy(dmri, sct_testing_data):
    im, bvec_path, _ = dmri
    parts = separate_b0_dwi(im, gradients.read_bvecs(bvec_path))
    data = im.data.astype(np.float64)
    assert parts["b0"].data.shape == (40, 42, 5, 1) and parts["dwi"].data.shape == (40, 42, 5, 6)
    assert np.array_equal(parts["b0"].data[..., 0], im.data[..., 0])
    assert np.allclose(parts["dwi_mean"].data, data[..., 1:].mean(3), atol=1e-3)
    assert np.allclose(parts["b0_mean"].data, data[..., 0], atol=1e-3)
    # the established toolbox's dwi_mean, shipped with the data
    ref = Image(str(sct_testing_data / "dmri" / "dwi_mean.nii.gz")).data
    assert np.abs(parts["dwi_mean"].data - ref).max() < 0.01


def test_separate_with_bvals_threshold(dmri):
    im, bvec_path, _ = dmri
    bvals = np.array([0, 750, 30, 750, 750, 750, 750])
    parts = separate_b0_dwi(im, gradients.read_bvecs(bvec_path), bvals, bvalmin=50)
    assert parts["b0"].data.shape[3] == 2 and parts["dwi"].data.shape[3] == 5


def test_separate_bad_input(dmri):
    im, bvec_path, _ = dmri
    with pytest.raises(SCTError, match="has 6 entries but the image has 7 volumes"):
        separate_b0_dwi(im, gradients.read_bvecs(bvec_path)[:6])
    vol = Image(im.data[..., 0], affine=im.affine)
    with pytest.raises(ValueError, match="must be a 4-D series, got a 3-D image"):
        separate_b0_dwi(vol, gradients.read_bvecs(bvec_path))


def test_concat_b0_dwi_roundtrip(dmri):
    im, bvec_path, _ = dmri
    vecs = gradients.read_bvecs(bvec_path)
    parts = separate_b0_dwi(im, vecs, average=False)
    out, ovecs, ovals = concat_b0_dwi([parts["b0"], parts["dwi"]], ["b0", "dwi"], vecs[1:],
                                      np.full(6, 750.0))
    assert np.array_equal(out.data, im.data)
    assert np.allclose(ovecs, vecs) and ovals.tolist() == [0] + [750] * 6
    with pytest.raises(SCTError, match="has 7 entries but the images given as dwi have 6 volumes"):
        concat_b0_dwi([parts["b0"], parts["dwi"]], ["b0", "dwi"], vecs)


# ------------------------------------------------------------------ tensor
def _directions(n):
    """Near-uniform unit vectors on a half sphere (Fibonacci lattice)."""
    k = np.arange(n) + 0.5
    z = 1 - k / n
    phi = np.pi * (1 + 5 ** 0.5) * k
    r = np.sqrt(1 - z ** 2)
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def _rotation(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q


#: eigenvalues (mm2/s) of the phantom's four compartments: cord white matter, grey matter-like,
#: planar, isotropic (CSF-like)
EIGENVALUES = [(1.7e-3, 0.3e-3, 0.3e-3), (1.0e-3, 0.7e-3, 0.5e-3), (1.2e-3, 1.0e-3, 0.2e-3),
               (2.0e-3, 2.0e-3, 2.0e-3)]


def _phantom(n_b0=4, n_dir=30, b=1000.0, s0=1000.0, seed=0):
    """4 blocks of 4x4x4 voxels, one tensor each; returns signal, bvals, bvecs, FA, MD maps."""
    rng = np.random.default_rng(seed)
    bvecs = np.vstack([np.zeros((n_b0, 3)), _directions(n_dir)])
    bvals = np.r_[np.zeros(n_b0), np.full(n_dir, b)]
    data = np.zeros((16, 4, 4, len(bvals)))
    fa = np.zeros((16, 4, 4))
    md = np.zeros((16, 4, 4))
    for k, ev in enumerate(EIGENVALUES):
        r = _rotation(rng)
        tensor = r @ np.diag(ev) @ r.T
        signal = s0 * np.exp(-bvals * np.einsum("ni,ij,nj->n", bvecs, tensor, bvecs))
        data[4 * k:4 * k + 4] = signal
        ev = np.asarray(ev)
        m = ev.mean()
        fa[4 * k:4 * k + 4] = np.sqrt(1.5 * ((ev - m) ** 2).sum() / (ev ** 2).sum())
        md[4 * k:4 * k + 4] = m
    return data, bvals, bvecs, fa, md


def test_dti_phantom_fa_md_within_1_percent():
    data, bvals, bvecs, fa, md = _phantom()
    im = Image(data.astype(np.float32), affine=np.eye(4))
    maps = compute_dti(im, bvals, bvecs, evecs=True)
    assert np.allclose(maps["FA"].data, fa, rtol=0.01, atol=1e-3)
    assert np.allclose(maps["MD"].data, md, rtol=0.01)
    # axial / radial diffusivities of the white-matter-like block
    assert maps["AD"].data[:4].mean() == pytest.approx(1.7e-3, rel=0.01)
    assert maps["RD"].data[:4].mean() == pytest.approx(0.3e-3, rel=0.01)
    assert maps["V1"].data.shape == (16, 4, 4, 3)
    assert np.allclose(np.linalg.norm(maps["V1"].data, axis=-1), 1, atol=1e-4)


def test_dti_mask_and_grid_check():
    data, bvals, bvecs, fa, _ = _phantom()
    im = Image(data.astype(np.float32), affine=np.eye(4))
    mask = np.zeros((16, 4, 4), np.uint8)
    mask[:4] = 1
    maps = compute_dti(im, bvals, bvecs, mask=Image(mask, affine=np.eye(4)))
    assert np.all(maps["FA"].data[4:] == 0)
    assert np.allclose(maps["FA"].data[:4], fa[:4], rtol=0.01)
    with pytest.raises(ValueError, match=r"mask \(8x4x4 vox.* and the diffusion image \(16x4x4 vox"):
        compute_dti(im, bvals, bvecs, mask=Image(mask[:8], affine=np.eye(4)))


def test_dti_restore_resists_outlier_volumes():
    data, bvals, bvecs, fa, md = _phantom(n_b0=6, n_dir=40, seed=1)
    rng = np.random.default_rng(2)
    sigma = 10.0  # SNR 100 at b=0
    noisy = np.abs(data + rng.normal(0, sigma, data.shape) + 1j * rng.normal(0, sigma, data.shape))
    corrupted = noisy.copy()
    corrupted[..., [8, 20, 33]] *= 0.4   # three volumes lose 60 % of their signal (dropouts)
    im = Image(corrupted.astype(np.float32), affine=np.eye(4))
    err = {}
    for method in ("standard", "restore"):
        maps = compute_dti(im, bvals, bvecs, method=method)
        err[method] = np.abs(maps["MD"].data - md).mean() / md.mean()
    clean = compute_dti(Image(noisy.astype(np.float32), affine=np.eye(4)), bvals, bvecs)
    err_clean = np.abs(clean["MD"].data - md).mean() / md.mean()
    assert err["standard"] > 0.05            # the outliers bias the least-squares fit
    assert err["restore"] < err["standard"] / 3
    assert err["restore"] < err_clean + 0.01  # nearly as good as without outliers


def test_dti_needs_enough_volumes(dmri):
    im, bvec_path, bval_path = dmri
    with pytest.raises(SCTError, match="needs more volumes than the 7 tensor parameters"):
        compute_dti(im, gradients.read_bvals(bval_path), gradients.read_bvecs(bvec_path), method="restore")
    with pytest.raises(SCTError, match="has 6 entries but the image has 7 volumes"):
        compute_dti(im, gradients.read_bvals(bval_path)[:6], gradients.read_bvecs(bvec_path))


@pytest.mark.parametrize("n_b0", [1, 3])
def test_patch2self_reduces_noise_in_every_volume(n_b0):
    """Smoothly varying tensors, Gaussian noise: every volume gets closer to the noise-free signal
    (33 or 31 volumes: dipy alone gets the last n % 5 volumes wrong, see dmri/denoise.py)."""
    from spinalcordtoolbox.dmri.denoise import denoise_patch2self

    bvecs = np.vstack([np.zeros((n_b0, 3)), _directions(30)])
    bvals = np.r_[np.zeros(n_b0), np.full(30, 1000.0)]
    x, y, z = np.meshgrid(np.linspace(0, 1, 16), np.linspace(0, 1, 16), np.linspace(0, 1, 4), indexing="ij")
    l1, l2, angle = 1e-3 + 1e-3 * x, 0.3e-3 + 0.5e-3 * y, np.pi * z
    v1 = np.stack([np.cos(angle), np.sin(angle), 0 * angle], -1)
    adc = l2[..., None] + (l1 - l2)[..., None] * np.einsum("xyzi,ni->xyzn", v1, bvecs) ** 2
    clean = 1000 * np.exp(-bvals * adc)
    noisy = clean + np.random.default_rng(0).normal(0, 30.0, clean.shape)
    # the b=0 volumes last in the file: the wrapper reorders them
    order = np.r_[np.arange(n_b0, len(bvals)), np.arange(n_b0)]
    out = denoise_patch2self(Image(noisy[..., order].astype(np.float32), affine=np.eye(4)), bvals[order])
    rms_before = np.sqrt(((noisy[..., order] - clean[..., order]) ** 2).mean(axis=(0, 1, 2)))
    rms_after = np.sqrt(((out.data - clean[..., order]) ** 2).mean(axis=(0, 1, 2)))
    single_b0 = np.zeros(len(bvals), bool)
    if n_b0 == 1:
        single_b0[-1] = True   # a lone b=0 volume has nothing to be predicted from: kept as is
        assert np.allclose(out.data[..., -1], noisy[..., 0], atol=1e-3)
    assert np.all(rms_after[~single_b0] < 0.8 * rms_before[~single_b0])


def test_patch2self_is_reproducible_and_leaves_the_callers_random_state():
    """dipy draws its count sketch from numpy's global generator: the wrapper seeds it, so the
    output does not depend on what ran before, and restores the caller's state."""
    from spinalcordtoolbox.dmri.denoise import denoise_patch2self

    rng = np.random.default_rng(1)
    bvals = np.r_[0.0, np.full(9, 1000.0)]
    data = (500 + rng.normal(0, 20, (8, 8, 3, 10))).astype(np.float32)
    outputs = []
    for seed in (3, 11):
        np.random.seed(seed)
        before = np.random.get_state()[1].copy()
        outputs.append(denoise_patch2self(Image(data, affine=np.eye(4)), bvals).data)
        assert np.array_equal(np.random.get_state()[1], before)
    assert np.array_equal(outputs[0], outputs[1])


def test_patch2self_refuses_a_patch_radius():
    from spinalcordtoolbox.dmri.denoise import denoise_patch2self

    data = np.ones((4, 4, 2, 6), np.float32)
    with pytest.raises(SCTError, match="only 0 is supported"):
        denoise_patch2self(Image(data, affine=np.eye(4)), np.r_[0.0, np.full(5, 1000.0)], radius=(1, 1, 1))
