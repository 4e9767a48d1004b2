"""aSCOR (cord/canal area ratio): analytic concentric cylinders and the PAM50 cord + CSF."""
import math

import numpy as np
import pytest

from spinalcordtoolbox.shape.ascor import compute_ascor
from spinalcordtoolbox.image import Image, ImageError, crop_image


def _disc_tube(r_mm, n=40, p=0.5, nz=6, sub=4):
    off = ((np.arange(sub) + 0.5) / sub - 0.5) * p
    X, Y = np.meshgrid(np.arange(n) * p - 9.75, np.arange(n) * p - 9.75, indexing="ij")
    acc = sum((X + ox) ** 2 + (Y + oy) ** 2 <= r_mm ** 2 for ox in off for oy in off) / sub ** 2
    return Image(np.repeat(acc[:, :, None], nz, axis=2).astype(np.float32),
                 affine=np.diag([-p, p, 1.0, 1.0]))


def test_concentric_cylinders():
    rows, ratio = compute_ascor(_disc_tube(4.0), _disc_tube(6.0))
    # (4/6)^2 = 0.444
    np.testing.assert_allclose(rows[0]["MEAN(aSCOR)"], 16 / 36, rtol=0.01)
    np.testing.assert_allclose(rows[0]["MEAN(area_canal)"], math.pi * 36, rtol=0.01)
    assert rows[0]["Slice (I->S)"] == "0:5"
    with pytest.raises(ImageError, match="swapped"):
        compute_ascor(_disc_tube(6.0), _disc_tube(4.0))


def test_pam50_cord_and_csf(pam50):
    t = pam50 / "template"
    crop = dict(zmin=780, zmax=860)   # C4-C6 of the 0.5 mm template
    cord = crop_image(Image(t / "PAM50_cord.nii.gz"), **crop)
    csf = crop_image(Image(t / "PAM50_csf.nii.gz"), **crop)
    levels = crop_image(Image(t / "PAM50_levels.nii.gz"), **crop)
    union = ((cord.data > 0) | (csf.data > 0))
    canal = Image(union.astype(np.uint8), hdr=cord.hdr, affine=cord.affine)
    rows, ratio = compute_ascor(cord, canal, im_vertfile=levels, perlevel=True)
    assert [r["VertLevel"] for r in rows] == ["6", "5", "4"]
    # reference: voxel-count ratio per slice (the template cord is nearly straight, so the
    # two angle corrections cancel to < 0.5 %)
    ref = (cord.data > 0).sum(axis=(0, 1)) / union.sum(axis=(0, 1))
    np.testing.assert_allclose(ratio, ref, rtol=0.005)
    # measured 0.37-0.40: the PAM50 canal (cord + CSF) is ~180 mm2 at C4-C6
    assert all(0.3 < r["MEAN(aSCOR)"] < 0.5 for r in rows)
