"""Lesion analysis: analytic lesions in a cylinder, the fake-lesion t2 data, template/atlas tables."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image, ImageError
from spinalcordtoolbox.shape.lesion import analyze_lesions


def _cord_with_lesions():
    n, nz = 40, 30
    xx, yy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    disc = (xx - 20) ** 2 + (yy - 20) ** 2 <= 64          # radius 8 voxels of 1 mm
    cord = np.repeat(disc[:, :, None], nz, axis=2).astype(np.uint8)
    les = np.zeros_like(cord)
    les[18:23, 16:23, 5:10] = 1       # 5 x 7 x 5 = 175 mm3, in RPI y 16..22
    les[20:22, 20:22, 15:17] = 1      # 8 mm3, a second lesion
    aff = np.diag([-1.0, 1.0, 1.0, 1.0])
    return Image(les, affine=aff), Image(cord, affine=aff)


@pytest.mark.parametrize("orientation", ["RPI", "AIL"])
def test_analytic_lesions(orientation):
    les, cord = _cord_with_lesions()
    res = analyze_lesions(les.change_orientation(orientation), cord.change_orientation(orientation))
    assert res["count"] == 2 and res["total_volume"] == 183
    big, small = res["lesions"]
    assert big["volume [mm3]"] == 175 and small["volume [mm3]"] == 8
    np.testing.assert_allclose(big["length [mm]"], 5, rtol=1e-3)      # straight cord, 5 slices
    # midsagittal column x=20: cord spans y 12..28; lesion y 16..22 -> 4 mm dorsal, 6 mm ventral
    assert big["dorsal_bridge_width [mm]"] == 4 and big["ventral_bridge_width [mm]"] == 6
    # damage ratio per slice: 35 voxels / 197 cord voxels (disc of radius 8 holds 197 voxels)
    np.testing.assert_allclose(big["max_axial_damage_ratio []"], 35 / 197, rtol=1e-9)
    np.testing.assert_allclose(big["max_equivalent_diameter [mm]"], 2 * np.sqrt(35 / np.pi), rtol=1e-9)
    lab = res["label_image"]
    assert lab.orientation == orientation and set(np.unique(lab.data)) == {0, 1, 2}


def test_fake_lesion_t2(sct_testing_data):
    t2 = sct_testing_data / "t2"
    les = Image(t2 / "t2_fake_lesion_lesion_seg.nii.gz")
    cord = Image(t2 / "t2_fake_lesion_sc_seg.nii.gz")
    res = analyze_lesions(les, cord)
    # reference: 163 voxels of 0.8 mm isotropic = 83.46 mm3, one connected lesion
    assert res["count"] == 1
    np.testing.assert_allclose(res["total_volume"], 163 * 0.8 * 0.8 * 0.8000011444, rtol=1e-5)
    (r,) = res["lesions"]
    lr = les.copy().change_orientation("RPI").data > 0
    cr = cord.copy().change_orientation("RPI").data > 0
    zs = np.flatnonzero(lr.any(axis=(0, 1)))
    # reference length: slices x 0.8 mm x sqrt(1 + slope^2), slope of a straight line fitted
    # through the cord centroids over the lesion (the cord runs obliquely: ~0.42 voxel/slice in
    # AP, i.e. ~23 deg, so the lesion is 8-9 % longer than its slice extent)
    cz = [z for z in range(zs.min() - 3, zs.max() + 4) if cr[:, :, z].any()]
    cy = [np.argwhere(cr[:, :, z])[:, 1].mean() for z in cz]
    cx = [np.argwhere(cr[:, :, z])[:, 0].mean() for z in cz]
    sy, sx = np.polyfit(cz, cy, 1)[0], np.polyfit(cz, cx, 1)[0]
    ref = len(zs) * 0.8 * np.sqrt(1 + sx ** 2 + sy ** 2)
    np.testing.assert_allclose(r["length [mm]"], ref, rtol=0.02)
    ratio = lr.sum(axis=(0, 1))[zs] / cr.sum(axis=(0, 1))[zs]
    np.testing.assert_allclose(r["max_axial_damage_ratio []"], ratio.max(), rtol=1e-9)


def test_template_levels_and_tracts(sct_testing_data):
    mt = sct_testing_data / "mt"
    cord = Image(mt / "mt1_seg.nii.gz")
    atlas = [Image(mt / "label" / "atlas" / f"PAM50_atlas_{i:02d}.nii.gz").data for i in range(4)]
    dorsal = (sum(atlas) > 0.3) & (cord.data > 0)
    dorsal[:, :, [0, 4]] = False
    les = Image(dorsal.astype(np.uint8), hdr=cord.hdr, affine=cord.affine)
    res = analyze_lesions(les, cord, template_dir=mt / "label")
    levels = [r for r in res["levels"] if r["label"] == 1]
    np.testing.assert_allclose(sum(r["lesion_percent"] for r in levels), 100)
    assert {r["vert_level"] for r in levels} <= {4, 5, None}
    tracts = {r["tract_id"]: r for r in res["tracts"] if r["label"] == 1}
    assert len(tracts) == 37
    in_dorsal = sum(tracts[i]["lesion_percent_in_tract"] for i in range(4))
    # the lesion is the dorsal columns (tracts 0-3): most of it falls in them, none in the
    # ventral corticospinal tracts (22, 23)
    assert in_dorsal > 60
    assert tracts[22]["tract_percent_involved"] < 1 and tracts[23]["tract_percent_involved"] < 1
    assert tracts[0]["tract_percent_involved"] > 30


def test_errors():
    les, cord = _cord_with_lesions()
    with pytest.raises(ImageError, match="empty"):
        analyze_lesions(Image(np.zeros_like(les.data), affine=les.affine), cord)
    with pytest.raises(ImageError, match="same voxel grid"):
        analyze_lesions(les, Image(cord.data[:, :, :20], affine=cord.affine))
