"""PMJ detection (spinalcordtoolbox.labeling.pmj): template brainstem region resampled and cropped."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.labeling import pmj
from spinalcordtoolbox.straightening import label_points
from spinalcordtoolbox.registration.template import load_template


@pytest.fixture(scope="module")
def small(sct_testing_data):
    """The testing template (PAM50 at 1x1x2 mm, with the brainstem) and its manual PMJ."""
    t = load_template(sct_testing_data / "template")
    gt = label_points(Image(str(t.template_dir / "PAM50_small_t2_pmj_manual.nii.gz")))[50]
    return t, gt


def crop_with_noise(img, centre, step, seed, extent=(60, 80, 110)):
    """RPI crop of ``img`` around ``centre`` (the PMJ 80 mm from the bottom), ``step`` mm voxels,
    Gaussian noise of 10 % of the intensity spread."""
    origin = centre + np.array([30, -40, -80])
    data, affine = pmj.resample_iso(img, step, origin, (np.array(extent) / step).astype(int))
    data = data + np.random.default_rng(seed).normal(0, 0.1 * data.std(), data.shape)
    return Image(data.astype(np.float32), affine=affine)


@pytest.mark.parametrize("step", [1.0, 0.8])
def test_pmj_within_5mm(small, step):
    t, gt = small
    img = crop_with_noise(Image(str(t.template_dir / "PAM50_small_t2.nii.gz")), gt, step, seed=int(step * 10))
    out = pmj.detect_pmj(img, "t2", t)
    assert np.count_nonzero(out.data) == 1 and out.data.max() == 50
    found = label_points(out)[50]
    assert np.linalg.norm(found - gt) <= 5.0  # measured 0.0 (1 mm), 0.4 mm (0.8 mm)


def test_no_brainstem(small, sct_testing_data):
    t, _ = small
    with pytest.raises(pmj.PMJError, match="brainstem"):
        pmj.detect_pmj(Image(str(sct_testing_data / "t2" / "t2.nii.gz")), "t2", t)


def test_template_without_pmj_label(pam50, sct_testing_data):
    with pytest.raises(pmj.PMJError, match="no PMJ label"):
        pmj.detect_pmj(Image(str(sct_testing_data / "t2" / "t2.nii.gz")), "t2", load_template(pam50))


def test_t1_like_contrast_uses_inverted_t2(small):
    """No PAM50_t1 in the testing template: a T1-like image (inverted T2 crop) is matched
    against the inverted T2 block."""
    t, gt = small
    img = crop_with_noise(Image(str(t.template_dir / "PAM50_small_t2.nii.gz")), gt, 1.0, seed=3)
    img.data = img.data.max() - img.data
    found = label_points(pmj.detect_pmj(img, "t1", t))[50]
    assert np.linalg.norm(found - gt) <= 5.0


@pytest.mark.parametrize("si, axial", [(1.15, 1.0), (0.85, 1.0), (1.0, 0.9), (1.0, 1.1)])
def test_pmj_on_a_larger_or_smaller_head(small, si, axial):
    """The brainstem region scaled about the PMJ along S-I and across (another head size): the
    PMJ within 5 mm (measured 0.9-2.3 mm at 1 mm voxels, docs/validation.md)."""
    t, gt = small
    img = crop_with_noise(Image(str(t.template_dir / "PAM50_small_t2.nii.gz")), gt, 1.0, seed=1)
    scale = np.diag([axial, axial, si, 1.0])
    to_pmj, from_pmj = np.eye(4), np.eye(4)
    to_pmj[:3, 3], from_pmj[:3, 3] = gt, -gt
    scaled = Image(img.data, affine=to_pmj @ scale @ from_pmj @ img.affine)
    found = label_points(pmj.detect_pmj(scaled, "t2", t))[50]
    assert np.linalg.norm(found - gt) <= 5.0
