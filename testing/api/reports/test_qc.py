"""QC report library: views (orientation, centring, resampling, windowing), PNG rendering,
records written by parallel processes, and the index built from them."""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from spinalcordtoolbox.image import Image, ImageError
from spinalcordtoolbox.reports import records, views
from spinalcordtoolbox.utils.cli import SCTError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TILE = int(round(views.AXIAL_FOV_MM / views.QC_RESOLUTION_MM))  # 80 px per axial tile


def _png_size(path):
    """(width, height) from the PNG header, after checking the file decodes as a whole."""
    from PIL import Image as PILImage

    data = Path(path).read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"not a PNG: {path}"
    with PILImage.open(path) as png:
        png.load()  # decodes every pixel: a truncated file raises
        return png.size


def _extent_along_si(path):
    """Number of slices from the first to the last one holding the mask, found with nibabel
    alone (independent of the toolbox's reorientation): the axis whose code is S or I."""
    img = nib.load(str(path))
    axis = [c in "SI" for c in nib.aff2axcodes(img.affine)].index(True)
    other = tuple(a for a in range(3) if a != axis)
    present = np.flatnonzero(np.asarray(img.dataobj).any(axis=other))
    return present.max() - present.min() + 1


# ------------------------------------------------------------------ parallel writers
_WORKER = """
import sys
from spinalcordtoolbox.reports.qc import generate_qc
image, qc, process, seg, image2 = sys.argv[1:6]
generate_qc(image, qc, process=process, seg=seg or None, image2=image2 or None,
            command_line=" ".join(sys.argv), subject="sub-" + process[-2:])
"""


def test_four_parallel_writers_give_four_valid_entries(sct_testing_data, tmp_path):
    t2, mt = sct_testing_data / "t2", sct_testing_data / "mt"
    qc = tmp_path / "qc"
    jobs = [  # (image, process, seg, image2, an extra word of the command line)
        (t2 / "t2.nii.gz", "sct_deepseg_sc", t2 / "t2_seg-manual.nii.gz", "", ""),
        (t2 / "t2.nii.gz", "sct_label_utils", t2 / "labels.nii.gz", "", ""),
        (mt / "mt1.nii.gz", "sct_register_multimodal", mt / "mt1_seg.nii.gz", mt / "mt0.nii.gz", ""),
        # same dataset/subject/contrast/process as the first, at the same moment: the entry folders
        # must not collide. Its command differs (another option), so it is not a re-run of the first
        # and both entries stay whichever finishes first (identical re-runs: see the next test).
        (t2 / "t2.nii.gz", "sct_deepseg_sc", t2 / "t2_seg-manual.nii.gz", "", "-v2"),
    ]
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(img), str(qc), p, str(s), str(i2), extra],
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
             for img, p, s, i2, extra in jobs]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors

    entries = records.read_index(qc)
    assert len(entries) == 4
    assert len({e["id"] for e in entries}) == 4
    assert sorted(e["process"] for e in entries) == sorted(j[1] for j in jobs)
    assert len(list(qc.rglob(records.RECORD_NAME))) == 4
    assert not list(qc.rglob("*.part*")), "temporary files left behind"

    # expected sizes, from the design: axial tiles of 40 mm at 0.5 mm (80 px), up to 12 per row
    # (960 px), one per slice from the first to the last slice of the segmentation; sagittal
    # views cover the whole field of view at 0.5 mm, upscaled by an integer factor k until the
    # long side reaches 600 px: t2 is 60 (A-P) x 55 (I-S) voxels of 1 mm, so 119 x 109 px at
    # 0.5 mm, k = ceil(600 / 119) = 6, i.e. a step of 1/12 mm: 59*12+1 = 709 x 54*12+1 = 649 px.
    n_t2 = _extent_along_si(t2 / "t2_seg-manual.nii.gz")
    n_mt = _extent_along_si(mt / "mt1_seg.nii.gz")
    assert n_t2 == 55 and n_mt == 5
    expected = {
        "sct_deepseg_sc": (min(n_t2, 12) * TILE, math.ceil(n_t2 / 12) * TILE),
        "sct_label_utils": (709, 649),
        "sct_register_multimodal": (n_mt * TILE, TILE),
    }
    for e in entries:
        for key in ("background", "overlay"):
            assert _png_size(qc / e[key]) == expected[e["process"]], (e["process"], key)
        assert (e["width"], e["height"]) == expected[e["process"]]
    kinds = {e["process"]: (e["kind"], e["plane"]) for e in entries}
    assert kinds == {"sct_deepseg_sc": ("seg", "axial"), "sct_label_utils": ("labels", "sagittal"),
                     "sct_register_multimodal": ("toggle", "axial")}
    one = next(e for e in entries if e["process"] == "sct_label_utils")
    assert one["image"] == str(t2 / "t2.nii.gz") and one["seg"] == str(t2 / "labels.nii.gz")
    assert one["subject"] == "sub-ls" and one["contrast"] == "t2"
    assert one["version"] and one["date"] and "sct_label_utils" in one["command"]


def _fake_entry(qc, name, date, command):
    folder = qc / "ds" / "sub-01" / "t2" / "sct_deepseg_sc" / name
    folder.mkdir(parents=True)
    records.write_record(folder, {"date": date, "dataset": "ds", "subject": "sub-01", "contrast": "t2",
                                  "process": "sct_deepseg_sc", "command": command, "image": "t2.nii.gz"})
    return folder


def test_a_rerun_replaces_the_older_entry_of_the_same_step_only(tmp_path):
    qc = tmp_path / "qc"
    old = _fake_entry(qc, "a", "2026-01-01T10:00:00", "sct_deepseg_sc -i t2.nii.gz")
    other = _fake_entry(qc, "b", "2026-01-01T10:00:00", "sct_deepseg_sc -i t2.nii.gz -thr 0.3")
    same_moment = _fake_entry(qc, "c", "2026-01-01T10:00:05", "sct_deepseg_sc -i t2.nii.gz")
    new = _fake_entry(qc, "d", "2026-01-01T10:00:05", "sct_deepseg_sc -i t2.nii.gz")
    records.rebuild_index(qc, superseded_by=new)
    # the older identical run is gone; another option, or the same second (parallel jobs), stays
    assert not old.exists() and other.exists() and same_moment.exists()
    assert sorted(e["id"].rsplit("/", 1)[1] for e in records.read_index(qc)) == ["b", "c", "d"]


# ------------------------------------------------------------------ what the views show
@pytest.fixture(scope="module")
def t2_views(sct_testing_data):
    t2 = sct_testing_data / "t2"
    im = views.prepare(t2 / "t2.nii.gz")
    return im, views.prepare(t2 / "t2_seg-manual.nii.gz"), views.prepare(t2 / "labels.nii.gz")


def test_axial_mosaic_is_centred_on_the_cord_and_keeps_its_area(t2_views, sct_testing_data):
    im, seg, _ = t2_views
    view = views.axial_view(im, seg)
    assert view.mask.shape == view.background.shape == (5 * TILE, 12 * TILE)
    # reference: cord area per axial slice from the manual segmentation read with nibabel
    # (t2 is PSR in nibabel codes: axis 1 runs inferior -> superior, 1 mm isotropic voxels)
    native = np.asarray(nib.load(str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")).dataobj)
    assert [t[2] for t in view.tiles] == list(range(54, -1, -1))  # superior first
    errors, offsets = [], []
    for r0, c0, z in view.tiles:
        tile = view.mask[r0:r0 + TILE, c0:c0 + TILE]
        area_mm2 = tile.sum() * views.QC_RESOLUTION_MM ** 2
        errors.append(abs(area_mm2 / native[:, z, :].sum() - 1))
        rows, cols = np.indices(tile.shape)
        offsets.append([(tile * rows).sum() / tile.sum() - (TILE - 1) / 2,
                        (tile * cols).sum() / tile.sum() - (TILE - 1) / 2])
    # bilinear resampling at half the voxel size conserves the mask's integral: measured 0.0 %
    assert max(errors) < 0.01
    # the tile is centred on the cord's centre of mass: measured < 1e-6 px
    assert np.abs(offsets).max() < 0.5


def _synthetic(orientation):
    """A 40x40x10 RPI volume (1 mm) with a cord cylinder in the middle and a bright marker
    anterior, on the patient's left, in the upper slices; returned in ``orientation``."""
    data = np.zeros((40, 40, 10), dtype=np.float32)
    xx, yy = np.meshgrid(np.arange(40), np.arange(40), indexing="ij")
    cord = ((xx - 20) ** 2 + (yy - 20) ** 2 <= 16)
    data[cord] = 50
    data[27:31, 27:31, 6:] = 100          # RPI: +x = patient left, +y = anterior, +z = superior
    seg = np.repeat(cord[:, :, None], 10, axis=2).astype(np.uint8)
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])  # nibabel LAS = toolbox RPI
    im, im_seg = Image(data, affine=affine), Image(seg, affine=affine)
    return im.change_orientation(orientation), im_seg.change_orientation(orientation)


@pytest.mark.parametrize("orientation", ["RPI", "AIL", "PSR", "LAS"])
def test_views_follow_anatomy_whatever_the_orientation(orientation):
    im, seg = (views.prepare(x) for x in _synthetic(orientation))
    axial = views.axial_view(im, seg)
    # superior slices first; the marker (anterior, patient left) is at the top right of the
    # tile: radiological convention (patient right on the left of the screen), anterior up
    # (marker at 2 px per mm from the tile centre: rows 19-26, columns 53-66; cord within 8 px)
    def quadrants(k):
        r0, c0, z = axial.tiles[k]
        tile = axial.background[r0:r0 + TILE, c0:c0 + TILE]
        return z, {"anterior-left": tile[:30, 50:].max(), "anterior-right": tile[:30, :30].max(),
                   "posterior-left": tile[50:, 50:].max(), "posterior-right": tile[50:, :30].max()}
    z, top = quadrants(0)
    assert z == 9 and top == {"anterior-left": 1.0, "anterior-right": 0.0, "posterior-left": 0.0,
                              "posterior-right": 0.0}
    z, bottom = quadrants(-1)
    assert z == 0 and max(bottom.values()) == 0.0   # no marker in the lower slices
    # sagittal through the cord (x = 20 does not cross the marker at x 27-30); through x = 28
    # with a seg off-centre, the marker shows at the top left (anterior left, superior up)
    seg_off = seg.copy()
    seg_off.data[:] = 0
    seg_off.data[28, 20, 5] = 1
    sag = views.sagittal_view(im, seg_off, labels=True)
    row, col = np.unravel_index(np.argmax(sag.background), sag.background.shape)
    assert row < sag.background.shape[0] / 2 and col < sag.background.shape[1] / 2
    reference = views.axial_view(*(views.prepare(x) for x in _synthetic("RPI")))
    np.testing.assert_allclose(axial.background, reference.background, atol=1e-6)
    np.testing.assert_allclose(axial.mask, reference.mask, atol=1e-6)


def test_labels_are_drawn_at_their_world_position(t2_views, sct_testing_data):
    im, _, labels = t2_views
    assert views.is_point_labels(labels)
    view = views.sagittal_view(im, labels, labels=True)
    assert sorted(p[2] for p in view.points) == [3.0, 5.0]
    # map each dot back to RPI voxels, then to world with the reoriented affine, and compare
    # with the labels' world coordinates computed by nibabel from the original file
    native = nib.load(str(sct_testing_data / "t2" / "labels.nii.gz"))
    arr = np.asarray(native.dataobj)
    expected = {float(arr[tuple(v)]): nib.affines.apply_affine(native.affine, v) for v in np.argwhere(arr)}
    ny, nz = im.data.shape[1:]
    step = (ny - 1) * im.pixdim[1] / (view.background.shape[1] - 1)
    for row, col, value in view.points:
        vox_y = (ny - 1) - col * step / im.pixdim[1]
        vox_z = (nz - 1) - row * step / im.pixdim[2]
        world = nib.affines.apply_affine(im.affine, [0, vox_y, vox_z])
        # the sagittal view shows the A-P and I-S world coordinates (nibabel axes 1 and 2)
        np.testing.assert_allclose(world[1:], expected[value][1:], atol=1e-4)
    # C2-C3 (3) is above C4-C5 (5)
    rows = {p[2]: p[0] for p in view.points}
    assert rows[3.0] < rows[5.0]
    # a segmentation is not mistaken for labels
    assert not views.is_point_labels(t2_views[1])


def test_window_is_robust_to_spikes():
    values = np.concatenate([np.linspace(0, 100, 1000), [1e6, np.nan]])
    out = views.window(values)
    assert out[-2] == 1.0 and out[-1] == 0.0            # spike clipped, outside-FOV -> black
    lo, hi = np.percentile(values[:-1], views.WINDOW_PERCENTILES)
    np.testing.assert_allclose(out[500], (values[500] - lo) / (hi - lo), rtol=1e-5)
    assert views.window(np.full(5, 7.0)).max() == 0.0    # flat image: no division by zero


def test_overlay_is_transparent_outside_the_segmentation(t2_views, tmp_path):
    from PIL import Image as PILImage

    from spinalcordtoolbox.reports import render

    im, seg, _ = t2_views
    view = views.axial_view(im, seg)
    render.draw_view(view, tmp_path / "bg.png", tmp_path / "ov.png")
    alpha = np.asarray(PILImage.open(tmp_path / "ov.png").convert("RGBA"))[..., 3] / 255.0
    # opaque-ish exactly where the mask is, transparent elsewhere (8-bit rounding: 1/255)
    np.testing.assert_allclose(alpha, np.clip(view.mask, 0, 1) * render.SEG_ALPHA, atol=1 / 255 + 1e-6)


# ------------------------------------------------------------------ records and index
def test_index_survives_a_held_lock_and_a_corrupt_record(sct_testing_data, tmp_path, caplog):
    import fcntl
    import os

    from spinalcordtoolbox.reports.qc import generate_qc

    qc = tmp_path / "qc"
    t2 = sct_testing_data / "t2"
    folder = generate_qc(t2 / "t2.nii.gz", qc, process="sct_label_utils", seg=t2 / "labels.nii.gz")
    broken = records.new_entry_folder(qc, "d", "s", "c", "p")
    (broken / records.RECORD_NAME).write_text("{ not json")
    # a lock held elsewhere (e.g. a stale lock on a network file system) delays, never blocks
    fd = os.open(qc, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        records.rebuild_index(qc, timeout=0.2)
    finally:
        os.close(fd)
    assert "busy" in caplog.text and "unreadable" in caplog.text.lower()
    entries = records.read_index(qc)
    assert [e["id"] for e in entries] == [folder.relative_to(qc).as_posix()]
    assert all((qc / name).is_file() for name in records.ASSET_FILES)


def test_entry_folders_are_unique_for_simultaneous_writers(tmp_path):
    folders = {records.new_entry_folder(tmp_path, "d", "s/../x", "c", "p") for _ in range(20)}
    assert len(folders) == 20
    assert all(f.parent == tmp_path / "d" / "s_.._x" / "c" / "p" for f in folders)


def test_no_network_address_in_the_page_assets():
    for name in records.ASSET_FILES:
        text = (records.ASSETS_DIR / name).read_text()
        assert not re.search(r"\b(https?|wss?|ftp)://", text, re.I), name
        assert not re.search(r"""(src|href)\s*=\s*["']//""", text), name
    # the page forbids any network connection itself (Content-Security-Policy)
    assert "connect-src 'none'" in (records.ASSETS_DIR / "index.html").read_text()


# ------------------------------------------------------------------ generate_qc contract
def test_bad_inputs_give_clear_errors_and_no_entry(sct_testing_data, tmp_path):
    from spinalcordtoolbox.reports.qc import generate_qc

    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    empty = Image(t2)
    empty.data = np.zeros_like(empty.data)
    with pytest.raises(ImageError, match="empty"):
        generate_qc(t2, tmp_path / "qc", process="sct_deepseg_sc", seg=empty)
    with pytest.raises(SCTError, match="Did you mean .axial."):
        generate_qc(t2, tmp_path / "qc", process="x", plane="axail")
    with pytest.raises(ImageError, match="3-D or 4-D"):
        generate_qc(Image(np.zeros((4, 4, 4, 2, 2), np.float32)), tmp_path / "qc", process="x")
    assert not (tmp_path / "qc").exists() or not list((tmp_path / "qc").rglob(records.RECORD_NAME))


def test_metadata_from_path():
    from spinalcordtoolbox.reports.qc import metadata_from_path

    assert metadata_from_path("/data/ukb/sub-01/ses-2/anat/sub-01_T2w.nii.gz") == {
        "dataset": "ukb", "subject": "sub-01", "contrast": "anat"}
    assert metadata_from_path("/x/sct_testing_data/t2/t2.nii.gz") == {
        "dataset": "x", "subject": "sct_testing_data", "contrast": "t2"}
    assert metadata_from_path("/t2/t2.nii.gz") == {"dataset": "unknown", "subject": "unknown", "contrast": "t2"}


def test_relative_paths_name_the_working_folders(tmp_path, monkeypatch):
    """The course works inside each contrast's folder with bare file names."""
    from spinalcordtoolbox.reports.qc import metadata_from_path

    work = tmp_path / "course" / "single_subject" / "data" / "t2"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert metadata_from_path("t2.nii.gz") == {"dataset": "single_subject", "subject": "data", "contrast": "t2"}
    assert metadata_from_path("../t1/t1.nii.gz") == {"dataset": "single_subject", "subject": "data",
                                                     "contrast": "t1"}


def test_segmentation_on_another_grid_is_resampled_through_world_coordinates(t2_views):
    from spinalcordtoolbox.image import crop_image

    im, seg, _ = t2_views
    # the same segmentation cropped around the cord: other shape, other affine, same world
    cropped = crop_image(seg, xmin=10, xmax=40, ymin=5, ymax=50, zmin=0, zmax=None)
    assert cropped.data.shape != seg.data.shape
    full, crop = views.axial_view(im, seg), views.axial_view(im, cropped)
    assert crop.tiles == full.tiles
    np.testing.assert_allclose(crop.mask, full.mask, atol=1e-5)


def test_4d_image_without_segmentation(sct_testing_data):
    # fMRI: 68 x 68 x 6 x 30 volumes of 0.956 x 0.956 x 16.8 mm -> mean over time; no
    # segmentation: every slice, whole field of view (65 mm) in tiles of at most 240 px
    im = views.prepare(sct_testing_data / "fmri" / "fmri.nii.gz")
    assert im.data.shape == (68, 68, 6)
    view = views.axial_view(im)
    assert [t[2] for t in view.tiles] == [5, 4, 3, 2, 1, 0]
    assert view.tile_size == 130  # 68 * 0.956 mm = 65 mm at 0.5 mm (under the 240 px cap)
    assert view.background.shape == (130, 6 * 130)


def test_callers_images_are_left_untouched(sct_testing_data, tmp_path):
    from spinalcordtoolbox.reports.qc import generate_qc

    t2 = sct_testing_data / "t2"
    im, seg = Image(str(t2 / "t2.nii.gz")), Image(str(t2 / "t2_seg-manual.nii.gz"))
    before = (im.data.copy(), im.affine.copy(), seg.data.copy())
    folder = generate_qc(im, tmp_path / "qc", process="sct_deepseg_sc", seg=seg)
    assert im.orientation == seg.orientation == "AIL"
    np.testing.assert_array_equal(im.data, before[0])
    np.testing.assert_array_equal(im.affine, before[1])
    np.testing.assert_array_equal(seg.data, before[2])
    # Image objects carry their file path into the record
    record = records.read_index(tmp_path / "qc")[0]
    assert record["image"] == str(t2 / "t2.nii.gz") and record["id"] == folder.relative_to(tmp_path / "qc").as_posix()


def test_segmentation_outside_the_image_is_refused(t2_views):
    im, seg, _ = t2_views
    shifted = np.array(seg.affine, copy=True)
    shifted[2, 3] += 500.0  # the same mask, 50 cm above the image
    with pytest.raises(ImageError, match="does not overlap"):
        views.axial_view(im, Image(seg.data, affine=shifted))
