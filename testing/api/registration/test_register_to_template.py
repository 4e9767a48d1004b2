"""Template folders, info_label files, label alignment along the cord, -ref subject."""
import numpy as np
import pytest
from helpers.checks import dice

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.registration import to_template as tt
from spinalcordtoolbox.straightening import grid_world, label_points, sample_at_world
from spinalcordtoolbox.utils.cli import SCTError
from spinalcordtoolbox.registration.template import TemplateError, format_info_label, load_template, read_info_label


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    d = sct_testing_data / "t2"
    return (Image(str(d / "t2.nii.gz")), Image(str(d / "t2_seg-manual.nii.gz")),
            Image(str(d / "labels.nii.gz")))


def test_template_prefix_and_files(sct_testing_data, pam50):
    small = load_template(sct_testing_data / "template")
    assert small.prefix == "PAM50_small"
    # the template/ subfolder itself is accepted too
    assert load_template(sct_testing_data / "template" / "template").root == small.root
    assert small.label_file("rootlet").name == "PAM50_small_rootlets_midpoints.nii.gz"
    assert small.available_contrasts() == ["t2"]
    full = load_template(pam50)
    assert full.prefix == "PAM50" and full.label_file("rootlet").name == "PAM50_rootlets_midpoint.nii.gz"
    with pytest.raises(TemplateError, match="PAM50_t1.nii.gz is not available.*sct_download_data"):
        full.contrast("t1")
    with pytest.raises(SCTError, match="Allowed: t1, t2, t2s"):
        full.contrast("t3")


def test_info_label_round_trip(pam50, tmp_path):
    info = read_info_label(pam50 / "atlas" / "info_label.txt")
    assert len(info.labels) == 37 and info.labels[36] == (36, "CSF contour", "PAM50_atlas_36.nii.gz")
    assert (50, "spinal cord", "0:35") in info.combined and len(info.map_clusters) == 3
    # names containing commas survive
    assert info.labels[12][1] == "WM left spinal lemniscus (spinothalamic and spinoreticular tracts)"
    path = tmp_path / "info_label.txt"
    path.write_text(format_info_label(info, "White matter atlas"))
    again = read_info_label(path)
    assert again.labels == info.labels and again.combined == info.combined
    assert again.map_clusters == info.map_clusters


def test_arc_length_map_least_squares():
    """-l with more than 2 labels: translation + scaling fitted through all of them."""
    tpl = {3: 0.0, 4: 10.0, 5: 20.0}
    subj = {3: 5.0, 4: 14.0, 5: 25.0}   # slope 1.0, intercept 4.667
    arc, common = tt.arc_length_map(subj, tpl, "affine")
    assert common == [3, 4, 5]
    np.testing.assert_allclose(arc.to_src([0.0, 20.0]), [5.0 - 1 / 3, 25.0 - 1 / 3], atol=1e-9)
    piece, _ = tt.arc_length_map(subj, tpl, "piecewise")  # -ldisc: every disc matched
    np.testing.assert_allclose(piece.to_src([0.0, 10.0, 20.0]), [5.0, 14.0, 25.0])
    with pytest.raises(tt.RegistrationError, match=r"\[7\]"):
        tt.arc_length_map({7: 1.0}, tpl, "piecewise")


def test_label_alignment_small_template(sct_testing_data, t2):
    """Label-only alignment (straightening + arc-length matching of the mid-vertebral labels
    3 and 5, -l): the template's mid-C3/mid-C5 points map onto the planes of the subject's
    labels exactly, and the template cord
    pulled onto the subject already has Dice >= 0.9 (measured 0.934) with the manual seg."""
    _, seg, labels = t2
    template = load_template(sct_testing_data / "template")
    mapping, crop, common = tt.label_alignment(seg, labels, template, "l")
    assert common == [3, 5]
    tpl_pts = tt.vertebral_body_points(Image(str(template.path("levels"))))
    subj_pts = label_points(labels)
    for v in common:
        s_subject = mapping.src.to_curvilinear(subj_pts[v][None])[0][0]
        s_mapped = mapping.src.to_curvilinear(mapping.dest_to_src(tpl_pts[v][None]))[0][0]
        assert s_mapped == pytest.approx(s_subject, abs=1e-3)
    cord = Image(str(template.path("cord")))
    moved = sample_at_world(cord, mapping.src_to_dest(grid_world(seg))).reshape(seg.data.shape)
    assert dice(moved >= 0.5, seg.data > 0) >= 0.9
    # the template crop covers the subject's cord (54 mm) plus margins, not the whole template
    assert 30 <= crop.data.shape[2] <= 60


def test_vertebral_body_points(sct_testing_data):
    """Mid-vertebral points of the small template lie halfway between the discs bounding
    each level (disc v at the top of level v): e.g. mid-C3 between discs 3 and 4 (+/- 2 mm:
    vertebral bodies are not symmetric about their mid-height in the level map)."""
    tdir = sct_testing_data / "template" / "template"
    body = tt.vertebral_body_points(Image(str(tdir / "PAM50_small_levels.nii.gz")))
    discs = label_points(Image(str(tdir / "PAM50_small_label_disc.nii.gz")))
    for v in (3, 4, 5, 6):
        assert discs[v + 1][2] < body[v][2] < discs[v][2]
        assert body[v][2] == pytest.approx((discs[v][2] + discs[v + 1][2]) / 2, abs=2.0)


def test_ref_subject(sct_testing_data, t2):
    """-ref subject: the steps run in subject space; Dice >= 0.9 (measured 0.98)."""
    im, seg, labels = t2
    res = tt.register_to_template(im, seg, labels, template=load_template(sct_testing_data / "template"),
                                  ref="subject")
    cord = Image(str(load_template(sct_testing_data / "template").path("cord")))
    from spinalcordtoolbox.straightening import resample_with_field
    moved = resample_with_field(cord, im, res.warp_template2anat)
    assert dice(moved.data >= 0.5, seg.data > 0) >= 0.9
    assert res.template2anat.data.shape == im.data.shape


def test_crop_world_z(pam50):
    cord = Image(str(pam50 / "template" / "PAM50_cord.nii.gz"))
    crop = tt.crop_world_z(cord, -150.0, -100.0)
    zs = crop.transfo_pix2phys([[0, 0, 0], [0, 0, crop.data.shape[2] - 1]])[:, 2]
    assert zs[0] <= -150.0 + 0.5 and zs[1] >= -100.0 - 0.5 and crop.data.shape[2] <= 103


def test_qform_sform_mismatch_warns(sct_testing_data, caplog):
    import logging

    from spinalcordtoolbox.registration.to_template import warn_if_qform_sform_differ

    t2 = Image(str(sct_testing_data / "t2" / "t2.nii.gz"))
    assert not warn_if_qform_sform_differ(t2, "input image")
    sform = t2.hdr.get_sform()
    sform[:3, 3] += [0.0, 2.0, 0.0]
    t2.hdr.set_sform(sform, code=1)
    with caplog.at_level(logging.WARNING):
        assert warn_if_qform_sform_differ(t2, "input image")
    assert "qform and the sform of the input image differ (origins 2 mm apart)" in caplog.text


def test_working_grid_does_not_depend_on_axis_direction():
    """141 voxels of 0.5 mm on a 1 mm working grid (70 voxels): the grid is centred on the
    field of view, so flipping an axis gives the same voxel centres (before: 0.5 mm apart)."""
    from spinalcordtoolbox.straightening import grid_world

    data = np.zeros((141, 20, 30), np.float32)
    img = Image(data, affine=np.diag([-0.5, 0.5, 0.5, 1.0]))
    flipped = img.copy().change_orientation("LPI")
    a, b = tt.working_grid(img, 1.0), tt.working_grid(flipped, 1.0)
    pa = np.sort(np.unique(np.round(grid_world(a)[:, 0], 4)))
    pb = np.sort(np.unique(np.round(grid_world(b)[:, 0], 4)))
    assert np.allclose(pa, pb, atol=1e-4)


def test_label_alignment_ldisc_with_pmj_label(sct_testing_data, t2):
    """-ldisc with sct_label_vertebrae's _labeled_discs: its PMJ label (50), which the
    template's disc labels lack, is left out; the discs give the same alignment."""
    _, seg, _ = t2
    template = load_template(sct_testing_data / "template")
    rpi = seg.copy().change_orientation("RPI")
    discs = rpi.copy()
    discs.data = np.zeros(rpi.data.shape, np.uint8)
    for z, v in ((52, 3), (34, 4), (16, 5), (54, 50)):
        x, y = np.round(np.argwhere(rpi.data[:, :, z] > 0).mean(axis=0)).astype(int)
        discs.data[x, y, z] = v
    no_pmj = discs.copy()
    no_pmj.data = np.where(discs.data == 50, 0, discs.data).astype(np.uint8)
    mapping, crop, common = tt.label_alignment(rpi, discs, template, "ldisc")
    ref_mapping, ref_crop, ref_common = tt.label_alignment(rpi, no_pmj, template, "ldisc")
    assert common == ref_common == [3, 4, 5]
    np.testing.assert_allclose(mapping.arc.s_src, ref_mapping.arc.s_src)
    np.testing.assert_allclose(mapping.arc.s_dest, ref_mapping.arc.s_dest)
    assert crop.data.shape == ref_crop.data.shape
