"""sct_register_to_template on the t2 subject: small template and full PAM50, bad inputs.

Reference values: the manual segmentation t2_seg-manual, the manual labels t2/labels.nii.gz
and the established toolbox's own t2/warp_template2anat.nii.gz (small template) of
sct_testing_data. As in the established toolbox, ``-l`` labels sit on the mid-vertebral
slice (3 = middle of C3, 5 = middle of C5): with the established toolbox's warp, the
subject's label 3 lies between the warped C2-C3 and C3-C4 discs. Each registration runs once
per module (cached) and several properties are checked on it.
"""
import numpy as np
import pytest
from helpers.checks import dice

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.registration import warp
from spinalcordtoolbox.scripts.sct_register_to_template import main
from spinalcordtoolbox.straightening import label_points
from spinalcordtoolbox.registration.template import load_template

LPS = np.array([-1.0, -1.0, 1.0])
OUTPUTS = ("warp_anat2template", "warp_template2anat", "anat2template", "template2anat")


def _register(data, template_dir, folder, extra=()):
    t2 = data / "t2"
    main(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"),
          "-l", str(t2 / "labels.nii.gz"), "-t", str(template_dir), "-c", "t2",
          "-ofolder", str(folder), "-v", "0", *extra])
    return {k: folder / f"{k}.nii.gz" for k in OUTPUTS}, load_template(template_dir)


@pytest.fixture(scope="module")
def small(sct_testing_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    return _register(sct_testing_data, sct_testing_data / "template", folder,
                     ["-qc", str(folder / "qc")])


@pytest.fixture(scope="module")
def full(sct_testing_data, pam50, tmp_path_factory):
    return _register(sct_testing_data, pam50, tmp_path_factory.mktemp("pam50"))


def _check_cord_and_labels(data, outputs, template):
    """Dice of the warped template cord; distance (mm) of the template's mid-vertebral points
    moved through warp_anat2template (p -> p + d(p)) from the subject's labels; level of the
    warped vertebral-level map at each subject label."""
    from spinalcordtoolbox.registration.to_template import vertebral_body_points

    paths, tpl = outputs, template
    t2 = Image(str(data / "t2" / "t2.nii.gz"))
    seg = Image(str(data / "t2" / "t2_seg-manual.nii.gz")).data > 0
    # template cord pulled onto the subject through warp_template2anat (ITK convention)
    cord = warp.apply_transforms(Image(str(tpl.path("cord"))), t2, [str(paths["warp_template2anat"])])
    d = dice(cord.data >= 0.5, seg)
    labels = Image(str(data / "t2" / "labels.nii.gz"))
    subj = label_points(labels)
    a2t_im, a2t = warp.read_warp(str(paths["warp_anat2template"]))
    field = warp.DisplacementField(a2t, a2t_im.affine)
    tpl_pts = vertebral_body_points(Image(str(tpl.path("levels"))))
    err = {v: np.linalg.norm(field.apply(tpl_pts[v][None] * LPS)[0] * LPS - subj[v]) for v in subj}
    levels = warp.apply_transforms(Image(str(tpl.path("levels"))), t2,
                                   [str(paths["warp_template2anat"])], interp="nn").data
    level_at_label = {int(v): int(levels[tuple(ijk)]) for *ijk, v in labels.nonzero_coords().astype(int)}
    return d, err, level_at_label


def test_small_template_outputs(sct_testing_data, small):
    paths, _ = small
    for name, p in paths.items():
        assert p.is_file(), name
    assert any((paths["anat2template"].parent / "qc").rglob("*.png"))  # QC entry written
    im, disp = warp.read_warp(str(paths["warp_template2anat"]))
    assert im.data.shape == (60, 55, 52, 1, 3) and im.data.dtype == np.float32
    assert im.hdr.get_intent()[0] == "vector"
    # the small template's slices at the subject's own world z (-19..36 mm) are far from the
    # cord's match (z 140..200 mm): the field sends them out of the image, so the subject is
    # not pulled in at its unmoved position (a zero field would give t2's own voxels there)
    from spinalcordtoolbox.image import crop_image

    a2t = Image(str(paths["anat2template"]))
    k = np.rint(a2t.transfo_phys2pix([[0, 0, -19.0], [0, 0, 36.0]])[:, 2]).astype(int)
    region = crop_image(a2t, zmin=k.min(), zmax=k.max())
    t2 = Image(str(sct_testing_data / "t2" / "t2.nii.gz"))
    assert warp.apply_transforms(t2, region, []).data.any()  # the trap is real
    assert not warp.apply_transforms(t2, region, [str(paths["warp_anat2template"])]).data.any()
    # template2anat is on the subject's grid (orientation AIL kept)
    t2a = Image(str(paths["template2anat"]))
    assert t2a.data.shape == (60, 55, 52) and t2a.orientation == "AIL"


def test_small_template_dice_and_labels(sct_testing_data, small):
    """Acceptance: Dice >= 0.9 (measured 0.975), labels within 2 mm of the template's
    (measured 0.9-1.2 mm; full PAM50 0.9-1.4 mm), each label inside its own warped vertebral
    level."""
    d, err, level_at_label = _check_cord_and_labels(sct_testing_data, *small)
    assert d >= 0.9, d
    assert max(err.values()) <= 2.0, err
    assert level_at_label == {3: 3, 5: 5}


def test_small_template_agrees_with_established_warp(sct_testing_data, small):
    """The template discs land within 2 mm of where the established toolbox's own
    warp_template2anat puts them (measured <= 1.7 mm, voxel positions), and the warped level
    maps agree on > 85 % of the cord (measured 92 %; they differ only at level boundaries)."""
    paths, tpl = small
    t2 = Image(str(sct_testing_data / "t2" / "t2.nii.gz"))
    seg = Image(str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")).data > 0
    ours, theirs = ([str(paths["warp_template2anat"])],
                    [str(sct_testing_data / "t2" / "warp_template2anat.nii.gz")])
    discs = Image(str(tpl.label_file("disc")))
    a = label_points(warp.apply_transforms(discs, t2, ours, interp="label"))
    b = label_points(warp.apply_transforms(discs, t2, theirs, interp="label"))
    common = sorted(set(a) & set(b))
    assert len(common) >= 3
    assert max(np.linalg.norm(a[v] - b[v]) for v in common) <= 2.0
    levels = Image(str(tpl.path("levels")))
    la = warp.apply_transforms(levels, t2, ours, interp="nn").data
    lb = warp.apply_transforms(levels, t2, theirs, interp="nn").data
    assert np.mean(la[seg] == lb[seg]) > 0.85


def test_full_pam50_dice_and_labels(sct_testing_data, full):
    d, err, level_at_label = _check_cord_and_labels(sct_testing_data, *full)
    assert d >= 0.9, d
    assert max(err.values()) <= 2.0, err
    assert level_at_label == {3: 3, 5: 5}


def test_full_pam50_anat2template(sct_testing_data, full):
    """The subject's segmentation pulled into template space through warp_anat2template
    overlaps the PAM50 cord (slices it covers): Dice >= 0.9 (measured 0.96); outputs are on
    the full PAM50 grid (0.5 mm), zero outside the subject's coverage."""
    from spinalcordtoolbox.image import crop_image

    paths, tpl = full
    a2t = Image(str(paths["anat2template"]))
    cord_full = Image(str(tpl.path("cord")))
    # on the full template grid, zero outside the subject's coverage
    assert a2t.data.shape == cord_full.data.shape and a2t.pixdim == pytest.approx((0.5, 0.5, 0.5))
    zs = np.flatnonzero(a2t.data.any(axis=(0, 1)))
    assert 80 <= len(zs) <= 200  # ~54 mm of cord + margins at 0.5 mm
    ref = crop_image(a2t, zmin=zs[0], zmax=zs[-1])
    seg = Image(str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"))
    moved = warp.apply_transforms(seg, ref, [str(paths["warp_anat2template"])]).data >= 0.5
    cord = crop_image(cord_full, zmin=zs[0], zmax=zs[-1]).data >= 0.5
    covered = moved.any(axis=(0, 1))
    assert dice(moved, cord & covered[None, None, :]) >= 0.9


# ------------------------------------------------------------------ bad inputs
def _fails(argv, capsys, match):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 or err.startswith("usage"), err
    assert match in err, err
    return err


@pytest.fixture
def t2_args(sct_testing_data):
    t2 = sct_testing_data / "t2"
    return ["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"),
            "-t", str(sct_testing_data / "template")]


def test_label_outside_segmentation(sct_testing_data, t2_args, in_tmp, capsys):
    """Label 3 (C2-C3) lies on a slice where the cut segmentation has no cord: the error
    names the label and its slice, and nothing is written."""
    seg = Image(str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")).change_orientation("RPI")
    lab = Image(str(sct_testing_data / "t2" / "labels.nii.gz")).change_orientation("RPI")
    z3 = int(np.argwhere(lab.data == 3)[0, 2])
    seg.data[:, :, z3 - 3:] = 0
    seg.change_orientation("AIL").save(str(in_tmp / "seg_cut.nii.gz"))
    argv = t2_args[:2] + ["-s", "seg_cut.nii.gz", "-t", t2_args[5],
                          "-l", str(sct_testing_data / "t2" / "labels.nii.gz"), "-ofolder", "out"]
    _fails(argv, capsys, f"label 3 at z={z3}")
    assert not (in_tmp / "out").exists() or not any((in_tmp / "out").iterdir())


def test_4d_input(sct_testing_data, t2_args, in_tmp, capsys):
    t2 = Image(str(sct_testing_data / "t2" / "t2.nii.gz"))
    Image(np.stack([t2.data, t2.data], axis=3), hdr=t2.hdr, affine=t2.affine).save("t2_4d.nii.gz")
    argv = ["-i", "t2_4d.nii.gz"] + t2_args[2:] + ["-l", str(sct_testing_data / "t2" / "labels.nii.gz")]
    _fails(argv, capsys, "4-D")


@pytest.mark.parametrize("param, match", [
    ("step=1,type=seg,algo=bsplinesym", "algo"),
    ("step=2,type=seg,algo=bsplinesyn,metric=MeanSquare", "metric"),
])
def test_bad_param(sct_testing_data, t2_args, in_tmp, capsys, param, match):
    argv = t2_args + ["-l", str(sct_testing_data / "t2" / "labels.nii.gz"), "-param", param]
    err = _fails(argv, capsys, match)
    assert "Did you mean" in err


def test_missing_contrast(sct_testing_data, pam50, in_tmp, capsys):
    t2 = sct_testing_data / "t2"
    err = _fails(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"),
                  "-l", str(t2 / "labels.nii.gz"), "-t", str(pam50), "-c", "t1"], capsys, "PAM50_t1")
    assert "sct_download_data" in err


def test_ref_subject_refuses_more_than_two_labels(sct_testing_data, t2_args, in_tmp, capsys):
    lab = Image(str(sct_testing_data / "t2" / "labels.nii.gz"))
    (x3, y3, z3, _), (x5, y5, z5, _) = sorted(lab.nonzero_coords(), key=lambda c: c[3])
    lab.data[int(round((x3 + x5) / 2)), int(round((y3 + y5) / 2)), int(round((z3 + z5) / 2))] = 4
    lab.save("three_labels.nii.gz")
    _fails(t2_args + ["-l", "three_labels.nii.gz", "-ref", "subject"], capsys, "one or two labels")


def test_ref_subject_single_disc_label_on_thick_axial_mt(sct_testing_data, in_tmp):
    """The course's MT line: a -create-seg-mid 4 label (C3-C4 disc) on the 5-slice mt1, the
    steps run in subject space, slicewise bsplinesyn."""
    from spinalcordtoolbox.scripts.sct_label_utils import main as label_utils

    mt = sct_testing_data / "mt"
    label_utils(["-i", str(mt / "mt1_seg.nii.gz"), "-create-seg-mid", "4", "-o", "label_c3c4.nii.gz",
                 "-v", "0"])
    main(["-i", str(mt / "mt1.nii.gz"), "-s", str(mt / "mt1_seg.nii.gz"), "-ldisc", "label_c3c4.nii.gz",
          "-ref", "subject", "-t", str(sct_testing_data / "template"), "-v", "0", "-param",
          "step=1,type=seg,algo=centermassrot:step=2,type=seg,algo=bsplinesyn,slicewise=1"])
    mt1 = Image(str(mt / "mt1.nii.gz"))
    tpl = load_template(sct_testing_data / "template")
    cord = warp.apply_transforms(Image(str(tpl.path("cord"))), mt1, ["warp_template2anat.nii.gz"])
    seg = Image(str(mt / "mt1_seg.nii.gz")).data > 0.5
    # measured 0.962 (per slice 0.89-0.99)
    assert dice(cord.data >= 0.5, seg) >= 0.93
    # the template's C3-C4 disc level falls on the labelled slice: C3 above, C4 below
    levels = warp.apply_transforms(Image(str(tpl.path("levels"))), mt1, ["warp_template2anat.nii.gz"],
                                   interp="nn").data
    z_label = int(Image("label_c3c4.nii.gz").nonzero_coords()[0][2])
    assert set(np.unique(levels[..., z_label][seg[..., z_label]])) <= {3, 4}
    for name in OUTPUTS:
        assert Image(f"{name}.nii.gz").data.size > 0


def test_label_value_not_in_template(sct_testing_data, t2_args, in_tmp, capsys):
    lab = Image(str(sct_testing_data / "t2" / "labels.nii.gz"))
    lab.data[lab.data == 5] = 45
    lab.save("bad_value.nii.gz")
    _fails(t2_args + ["-l", "bad_value.nii.gz"], capsys, "[45]")


def test_template_orientation_does_not_change_the_result(small, sct_testing_data, tmp_path):
    """The same template stored in PIR (instead of RPI) gives the same warping field on the
    subject. (The working grid is now centred symmetrically: when the template's size is not a
    multiple of the working voxel, e.g. 141 x 0.5 mm on 1 mm, a flipped axis used to give a grid
    shifted by half a voxel; on this small template the sizes divide evenly.)"""
    import shutil

    tpl_dir = tmp_path / "template_pir"
    shutil.copytree(sct_testing_data / "template", tpl_dir)
    for f in (tpl_dir / "template").glob("*.nii.gz"):
        Image(str(f)).change_orientation("PIR").save(str(f))
    paths, _ = _register(sct_testing_data, tpl_dir, tmp_path / "out")
    a = Image(str(small[0]["warp_template2anat"])).data
    b = Image(str(paths["warp_template2anat"])).data
    assert np.abs(a - b).max() < 0.01  # measured 0.0 mm
