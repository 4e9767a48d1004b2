"""Conventions of the established toolbox that published pipelines rely on, checked on
sct_testing_data with the figures its documentation and its own tests give."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from helpers.checks import exit_code as _main
from spinalcordtoolbox.labeling import labels as lab



# ------------------------------------------------------------------ sct_label_utils
def test_label_utils_create_seg_mid_and_qc(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts import sct_label_utils

    seg = sct_testing_data / "t2" / "t2_seg-manual.nii.gz"
    assert _main(sct_label_utils, ["-i", seg, "-create-seg-mid", "4", "-o", "mid.nii.gz", "-qc", "qc"]) == 0
    # t2 is AIL, 55 slices along I-S: the established label sits in slice round(55 / 2) = 28
    assert lab.label_points(Image("mid.nii.gz")) == [(30, 28, 25, 4)]
    assert (in_tmp / "qc" / "index.html").is_file() and list((in_tmp / "qc").rglob("entry.json"))
    assert _main(sct_label_utils, ["-i", seg, "-cubic-to-point", "-o", "c.nii.gz"]) == 0
    assert lab.label_points(Image("c.nii.gz")) == [(31, 27, 25, 1)]


def test_label_utils_vert_body_is_level_centre_of_mass(sct_testing_data):
    labeled = Image(sct_testing_data / "t2" / "t2_seg-manual_labeled.nii.gz")
    pts = lab.label_points(lab.vertebral_body_points(labeled, [0]))
    rpi = np.rint(labeled.copy().change_orientation("RPI").data).astype(int)
    body_rpi = lab.vertebral_body_points(labeled, [0]).change_orientation("RPI")
    for x, y, z, v in body_rpi.nonzero_coords().astype(int):
        assert (x, y, z) == tuple(np.round(np.argwhere(rpi == v).mean(axis=0)).astype(int))
    assert [p[3] for p in pts] == [2, 3, 4, 5]


# ------------------------------------------------------------------ sct_image
def test_image_pad_keeps_exact_voxel_sizes(sct_testing_data, in_tmp):
    import nibabel as nib

    from spinalcordtoolbox.scripts import sct_image

    mt1 = sct_testing_data / "mt" / "mt1.nii.gz"
    assert _main(sct_image, ["-i", mt1, "-pad", "1,1,2", "-o", "p.nii.gz"]) == 0
    # 0.84375 x 0.84375 x 17 read back as stored, not 0.84374994 / 16.999998 (affine round trip)
    assert nib.load("p.nii.gz").header.get_zooms()[:3] == nib.load(mt1).header.get_zooms()[:3]
    assert Image("p.nii.gz").data.shape == tuple(np.array(Image(mt1).data.shape) + [2, 2, 4])


def test_image_fslhd_transpose_and_multicomponent(sct_testing_data, in_tmp, capsys):
    from spinalcordtoolbox.scripts import sct_image

    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    assert _main(sct_image, ["-i", t2, "-header", "fslhd"]) == 0
    lines = dict(line.split("\t", 1) for line in capsys.readouterr().out.strip().splitlines() if "\t" in line)
    assert lines["data_type"] == "INT16" and lines["dim1"] == "60" and lines["dim3"] == "52"
    assert lines["sizeof_hdr"] == "348" and lines["file_type"] == "NIFTI-1+"
    assert _main(sct_image, ["-i", t2, "-transpose", "z,y,x", "-o", "tr.nii.gz"]) == 0
    assert np.array_equal(Image("tr.nii.gz").data, np.transpose(Image(t2).data, (2, 1, 0)))
    warp = sct_testing_data / "t2" / "warp_template2anat.nii.gz"
    assert _main(sct_image, ["-i", warp, "-mcs", "-o", "w.nii.gz"]) == 0
    comps = [Image(f"w_{c}.nii.gz") for c in "XYZ"]
    field = Image(warp).data
    for c, comp in enumerate(comps):
        assert comp.data.shape == field.shape[:3] and np.array_equal(comp.data, field[:, :, :, 0, c])
    assert _main(sct_image, ["-i", "w_X.nii.gz", "w_Y.nii.gz", "w_Z.nii.gz", "-omc", "-o", "m.nii.gz"]) == 0
    merged = Image("m.nii.gz")
    assert merged.data.shape == field.shape and np.array_equal(merged.data, field)
    assert merged.hdr.get_intent()[0] == "vector"


# ------------------------------------------------------------------ sct_resample
def test_resample_keeps_first_voxel_centre_and_fills_nearest(sct_testing_data, in_tmp):
    import nibabel as nib

    from spinalcordtoolbox.scripts import sct_resample

    mt1 = sct_testing_data / "mt" / "mt1.nii.gz"
    src = Image(mt1)
    assert _main(sct_resample, ["-i", mt1, "-f", "0.5x0.5x1", "-o", "r.nii.gz"]) == 0
    out = Image("r.nii.gz")
    n = np.array(src.data.shape)
    new = np.rint(n * [0.5, 0.5, 1]).astype(int)
    assert out.data.shape == tuple(new)
    # the established grid: affine_r = affine @ diag(n / n_r): same first voxel centre
    assert np.allclose(out.affine, src.affine @ np.diag(list(n / new) + [1]), atol=1e-4)
    # voxel sizes exactly the stored ones times n / n_r (0.84375 x 2 = 1.6875; 17 stays 17)
    stored = np.array(nib.load(mt1).header.get_zooms()[:3], np.float64)
    assert np.array_equal(np.array(nib.load("r.nii.gz").header.get_zooms()[:3]),
                          (stored * n / new).astype(np.float32))
    # upsampled x2 along x, the last voxel centre lies half an old voxel past the last old centre:
    # it takes the edge value (established 'nearest' fill), not the half-zero of a zero fill
    assert _main(sct_resample, ["-i", mt1, "-f", "2x1x1", "-o", "u.nii.gz"]) == 0
    up = Image("u.nii.gz")
    assert up.data.shape[0] == 2 * n[0] and np.allclose(up.data[-1], src.data[-1], rtol=1e-5)
    assert _main(sct_resample, ["-i", mt1, "-f", "0.5x0.5x1", "-keep-fov", "1", "-o", "k.nii.gz"]) == 0
    keep = Image("k.nii.gz")
    # ours: the grids share their outer edges, i.e. the first centre moves by half an old voxel
    assert np.allclose(keep.affine[:3, 3], src.transfo_pix2phys([[0.5, 0.5, 0]])[0], atol=1e-4)


# ------------------------------------------------------------------ sct_crop_image
def test_crop_ref_extent_and_dilate(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts import sct_crop_image

    d = sct_testing_data
    # the established toolbox crops t2 to mt1's extent as 37 x 55 x 34 (voxel centres inside mt1's)
    assert _main(sct_crop_image, ["-i", d / "t2" / "t2.nii.gz", "-ref", d / "mt" / "mt1.nii.gz",
                                  "-o", "c.nii.gz"]) == 0
    assert Image("c.nii.gz").data.shape == (37, 55, 34)
    assert _main(sct_crop_image, ["-i", d / "t2" / "t2.nii.gz", "-ref", d / "mt" / "mt1.nii.gz",
                                  "-ref-extent", "edges", "-o", "e.nii.gz"]) == 0
    assert Image("e.nii.gz").data.shape == (40, 55, 36)
    seg = Image(d / "t2" / "t2_seg-manual.nii.gz")
    assert _main(sct_crop_image, ["-i", d / "t2" / "t2.nii.gz", "-m", d / "t2" / "t2_seg-manual.nii.gz",
                                  "-dilate", "5x5x0", "-o", "m.nii.gz"]) == 0
    idx = np.argwhere(seg.data)
    expected = [min(n - 1, hi + p) - max(0, lo - p) + 1
                for lo, hi, p, n in zip(idx.min(0), idx.max(0), (5, 5, 0), seg.data.shape)]
    assert list(Image("m.nii.gz").data.shape) == expected


def test_tiny_negative_qform_rounding_is_accepted(sct_testing_data, in_tmp):
    import nibabel as nib

    from spinalcordtoolbox.scripts import sct_crop_image

    data = np.asanyarray(nib.load(sct_testing_data / "t2" / "t2.nii.gz").dataobj)
    hdr = nib.Nifti1Header()
    hdr.set_data_shape(data.shape)
    hdr.set_data_dtype(data.dtype)
    hdr.set_zooms((1.0, 1.0, 1.0))
    hdr["qform_code"], hdr["sform_code"] = 1, 0
    # 180 degrees about y (quaternion 0,0,1,0) written with b^2 + c^2 + d^2 = 1 + 8e-07
    hdr["quatern_b"], hdr["quatern_c"], hdr["quatern_d"] = 0.0, np.sqrt(1 + 8e-7), 0.0
    hdr["pixdim"][0] = 1.0
    hdr["vox_offset"] = 352
    with open("qneg.nii", "wb") as f:
        f.write(hdr.binaryblock + b"\0" * 4 + np.asarray(data, order="F").tobytes(order="F"))
    img = Image("qneg.nii")
    assert np.allclose(img.affine[:3, :3], np.diag([-1, 1, -1]), atol=1e-3)
    assert _main(sct_crop_image, ["-i", "qneg.nii", "-xmin", "5", "-xmax", "10", "-o", "q.nii.gz"]) == 0
    assert Image("q.nii.gz").data.shape == (6,) + data.shape[1:]


# ------------------------------------------------------------------ sct_create_mask
def test_create_mask_box_size_20_is_21_voxels_and_r0(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts import sct_create_mask

    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    assert _main(sct_create_mask, ["-i", t2, "-p", "coord,26x30", "-size", "20", "-f", "box", "-r", "0",
                                   "-o", "box.nii.gz"]) == 0
    rpi = Image("box.nii.gz").change_orientation("RPI").data
    assert rpi[:, :, 10].sum() == 21 * 21 and rpi[16:37, 20:41, 10].all()
    assert _main(sct_create_mask, ["-i", t2, "-p", "coord,26x30", "-size", "20", "-f", "box", "-exact-mm", "1",
                                   "-o", "box_mm.nii.gz"]) == 0
    # ours: a 20 mm side (1 mm voxels) centred on a voxel holds |dx| <= 10 mm: 21 voxels too, the
    # difference shows with the field-of-view centre, which is geometric ((n-1)/2) with -exact-mm 1
    assert _main(sct_create_mask, ["-i", t2, "-size", "20", "-f", "box", "-exact-mm", "1",
                                   "-o", "c_mm.nii.gz"]) == 0
    assert Image("c_mm.nii.gz").change_orientation("RPI").data[:, :, 10].sum() == 20 * 20


# ------------------------------------------------------------------ sct_download_data
def test_download_course_assets_listed_and_installed_from_mirror(tmp_path, monkeypatch, capsys):
    import zipfile

    from spinalcordtoolbox.scripts import sct_download_data

    assert _main(sct_download_data, ["-l"]) == 0
    listing = capsys.readouterr().out
    # the established toolbox's download list: these names with these archives
    for name, url in (
            ("manual-correction",
             "https://github.com/spinalcordtoolbox/manual-correction/archive/refs/tags/r20231101.zip"),
            ("sct_course_data",
             "https://github.com/spinalcordtoolbox/sct_tutorial_data/archive/refs/tags/r20250310.zip"),
            ("PAM50", "https://github.com/spinalcordtoolbox/PAM50/releases/download/r20250422/PAM50-r20250422.zip"),
            ("template-dog", "https://github.com/spinalcordtoolbox/template-dog/releases/download/r20240709/"
                             "templatedog_r20240709.zip")):
        row = [line for line in listing.splitlines() if line.split()[:1] == [name]]
        assert row and row[0].rstrip().endswith(url), name
    # the course line 'sct_download_data -d manual-correction -o manual-correction', offline: from a
    # mirror holding the release archive (one top folder, as GitHub writes it)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with zipfile.ZipFile(mirror / "manual-correction.zip", "w") as zf:
        zf.writestr("manual-correction-r20231101/manual_correction.py", "print('hello')\n")
    with zipfile.ZipFile(mirror / "sct_course_data.zip", "w") as zf:
        zf.writestr("sct_tutorial_data-r20250310/single_subject/README.md", "course\n")
    monkeypatch.setenv("SCT_DATA_MIRROR", str(mirror))
    monkeypatch.chdir(tmp_path)
    assert _main(sct_download_data, ["-d", "manual-correction", "-o", "manual-correction"]) == 0
    assert (tmp_path / "manual-correction" / "manual_correction.py").read_text() == "print('hello')\n"
    # and the course's first line, 'sct_download_data -d sct_course_data -o sct_course_data'
    assert _main(sct_download_data, ["-d", "sct_course_data", "-o", "sct_course_data"]) == 0
    assert (tmp_path / "sct_course_data" / "single_subject" / "README.md").read_text() == "course\n"


# ------------------------------------------------------------------ sct_process_segmentation
@pytest.fixture(scope="module")
def t2_csa(sct_testing_data, tmp_path_factory):
    """The default CSV of t2_seg-manual, with -perlevel 1 and without -vert."""
    import csv

    from spinalcordtoolbox.scripts import sct_process_segmentation

    out = tmp_path_factory.mktemp("csa") / "csa.csv"
    t2 = sct_testing_data / "t2"
    assert _main(sct_process_segmentation, ["-i", t2 / "t2_seg-manual.nii.gz", "-perlevel", "1",
                                            "-vertfile", t2 / "t2_seg-manual_labeled.nii.gz",
                                            "-o", out, "-v", "0"]) == 0
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def test_process_segmentation_established_figures(t2_csa):
    # -perlevel 1 without -vert: one aggregate row, as the established toolbox
    (row,) = t2_csa
    assert row["Slice (I->S)"] == "0:54" and row["VertLevel"] == "2:5"
    # the established toolbox on t2_seg-manual: MEAN(orientation) -2.64 deg (signed), the
    # ellipse's AP axis 7.876 mm, the mid-line diameter_AP 7.692 mm
    assert abs(float(row["MEAN(orientation)"]) - (-2.64)) < 0.1
    assert abs(float(row["MEAN(diameter_AP_ellipse)"]) - 7.876) < 0.02
    assert abs(float(row["MEAN(diameter_AP)"]) - 7.692) < 0.02
    total = float(row["MEAN(length_anterior)"]) + float(row["MEAN(length_posterior)"])
    assert abs(total - float(row["MEAN(diameter_AP)"])) < 1e-9


def test_pmj_label_reoriented_with_interpolation(sct_testing_data, in_tmp):
    import csv

    from scipy import ndimage

    from spinalcordtoolbox.scripts import sct_process_segmentation

    t2 = sct_testing_data / "t2"
    seg = Image(t2 / "t2_seg-manual.nii.gz")
    pmj = Image(np.zeros(seg.data.shape, np.float32), hdr=seg.hdr, affine=seg.affine)
    rpi = pmj.copy().change_orientation("RPI")
    rpi.data[26, 30, 54] = 1
    rpi.change_orientation(seg.orientation).save("pmj_point.nii.gz")
    # the same label after an interpolating reorientation/resampling: a blob of small values
    blob = rpi.copy()
    blob.data = ndimage.gaussian_filter(rpi.data, 1.5)
    blob.data[blob.data < 1e-4] = 0
    blob.change_orientation(seg.orientation).save("pmj_blob.nii.gz")
    assert np.count_nonzero(Image("pmj_blob.nii.gz").data) > 100
    rows = {}
    for name in ("pmj_point", "pmj_blob"):
        assert _main(sct_process_segmentation, ["-i", t2 / "t2_seg-manual.nii.gz", "-pmj", f"{name}.nii.gz",
                                                "-pmj-distance", "20", "-pmj-extent", "10", "-o", f"{name}.csv",
                                                "-v", "0"]) == 0
        with open(f"{name}.csv", newline="") as f:
            rows[name] = next(csv.DictReader(f))
    assert rows["pmj_blob"]["Slice (I->S)"] == rows["pmj_point"]["Slice (I->S)"]
    assert rows["pmj_blob"]["MEAN(area)"] == rows["pmj_point"]["MEAN(area)"]


def test_symmetry_analytic(in_tmp):
    from spinalcordtoolbox.shape.process_seg import compute_shape

    # 0.1 mm voxels; slices 0-3: a symmetric ellipse (semi-axes 5 x 3 mm); slices 4-7: its left
    # half stretched to a semi-axis of 8 mm (an asymmetric, egg-shaped section)
    n, p = 200, 0.1
    x, y = np.meshgrid((np.arange(n) - n / 2 + 0.5) * p, (np.arange(n) - n / 2 + 0.5) * p, indexing="ij")

    def inside(xx, yy, left):
        return (xx / np.where(xx > 0, left, 5.0)) ** 2 + (yy / 3) ** 2 <= 1

    sym, asym = inside(x, y, 5.0), inside(x, y, 8.0)
    data = np.stack([sym] * 4 + [asym] * 4, axis=2).astype(np.uint8)
    im = Image(data, affine=np.diag([-p, p, 1.0, 1.0]))
    m, _ = compute_shape(im, angle_correction=False, symmetry=True)
    assert np.all(m["symmetry_dice"][:4] > 0.99) and np.all(m["symmetry_hausdorff"][:4] < 0.15)
    # expected, independently: mirror each pixel about the vertical line through the centre of
    # mass and test the mirrored point against the analytic shape (x = RL: data axis 0, which
    # runs to the left in RPI, as the analytic x here)
    cx = x[asym].mean()
    half = asym & (x > cx)
    twin = (x > cx) & inside(2 * cx - x, y, 8.0)
    dice = 2 * np.count_nonzero(half & twin) / (half.sum() + twin.sum())
    np.testing.assert_allclose(m["symmetry_dice"][4:], dice, atol=0.01)
    assert dice < 0.96          # clearly below the symmetric section (> 0.99)
    # the long half reaches 8 - cx from the axis, the mirrored short one 5 + cx
    gap = (8 - cx) - (5 + cx)
    assert np.all(m["symmetry_hausdorff"][4:] >= gap - 0.15)


def test_symmetry_axis_drawn_in_qc(sct_testing_data):
    from spinalcordtoolbox.shape.morphometry import QC_SYMMETRY_COLOUR, qc_shapes
    from spinalcordtoolbox.shape.process_seg import compute_shape

    seg = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    metrics, _, ellipses = compute_shape(seg, symmetry=True, return_ellipses=True, progress=False)
    plain, with_axis = qc_shapes(ellipses), qc_shapes(ellipses, metrics)
    axes = [s for s in with_axis if getattr(s, "colour", None) == QC_SYMMETRY_COLOUR]
    assert len(with_axis) == len(plain) + len(ellipses) == len(plain) + len(axes)
    assert all("sym Dice" in s.label for s in axes)
