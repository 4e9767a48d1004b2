"""sct_deepseg command: the whole path with a tiny nnU-Net model fitted to the t2 subject
(installed with -custom-url), outputs, post-processing flags, QC entry, errors."""
import numpy as np
import pytest

from helpers.checks import dice
from spinalcordtoolbox.scripts.sct_deepseg import main


@pytest.fixture
def env(in_tmp, monkeypatch):
    monkeypatch.setenv("SCT_DATA_DIR", str(in_tmp / "cache"))
    monkeypatch.delenv("SCT_DATA_MIRROR", raising=False)
    return in_tmp


# tiny networks: more torch threads only contend on a loaded CI machine
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_spinalcord_custom_url_with_qc_and_postprocessing(env, model_zip, sct_testing_data, capsys):
    import json
    import shutil

    from spinalcordtoolbox.image import Image
    src = env / "data" / "t2.nii.gz"
    src.parent.mkdir()
    shutil.copy(sct_testing_data / "t2" / "t2.nii.gz", src)
    assert run(["spinalcord", "-i", str(src), "-custom-url", str(model_zip), "-qc", "qc",
                "-fill-holes", "1", "-remove-small", "10mm3", "-device", "cpu"]) == 0
    seg_path = env / "data" / "t2_seg.nii.gz"  # next to the input, not in the working folder
    seg = Image(seg_path)
    gt = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    assert seg.data.shape == gt.data.shape and np.allclose(seg.affine, gt.affine)
    assert set(np.unique(seg.data)) == {0, 1}
    d = dice(seg.data, gt.data)
    assert d >= 0.8, d
    from scipy import ndimage
    assert ndimage.label(seg.data > 0, np.ones((3, 3, 3)))[1] == 1  # largest object: always for spinalcord
    sidecar = json.loads((env / "data" / "t2_seg.json").read_text())
    assert sidecar["GeneratedBy"][0]["ModelURL"] == [str(model_zip)]
    assert "sct_deepseg spinalcord" in sidecar["GeneratedBy"][0]["Name"]
    assert list((env / "qc").rglob("sct_deepseg"))  # QC entry written
    out = capsys.readouterr().out
    assert "fsleyes" in out and "t2_seg.nii.gz" in out

    # the custom model stays installed: a plain run (no -custom-url) uses it, offline;
    # -thr binarises the (already binary) nnU-Net mask: same mask; -thr 0: as predicted, not the
    # whole image
    for thr in ("0.9", "0"):
        assert run(["spinalcord", "-i", str(src), "-thr", thr, "-o", f"thr{thr}.nii.gz", "-v", "0",
                    "-fill-holes", "1", "-remove-small", "10mm3"]) == 0
        assert np.array_equal(Image(f"thr{thr}.nii.gz").data, seg.data)


def test_thr_out_of_range_refused_before_any_work(env, sct_testing_data, capsys):
    t2 = str(sct_testing_data / "t2" / "t2.nii.gz")
    assert run(["spinalcord", "-i", t2, "-thr", "2"]) == 2  # refused while parsing
    err = capsys.readouterr().err
    assert "expected a number in [0, 1]" in err
    assert not (env / "cache").exists()  # nothing installed or downloaded


def test_install_only(env, model_zip, capsys):
    assert run(["sc_canal_t2", "-install", "-custom-url", str(model_zip)]) == 0
    folder = env / "cache" / "deepseg_models" / "model_seg_canal_t2w"
    assert (folder / "nnUNetTrainer__nnUNetPlans__2d" / "plans.json").is_file()
    assert str(folder) in capsys.readouterr().out


def test_help_lists_tasks(capsys):
    assert run(["-h"]) == 0
    out = capsys.readouterr().out
    for task in ("spinalcord", "graymatter", "lesion_ms", "rootlets", "totalspineseg", "sc_canal_t2"):
        assert task in out
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize("argv, message", [
    (["spinalcrd", "-i", "{t2}"], "Did you mean 'spinalcord'"),
    (["spinalcord", "-i", "{t2}", "{t2}"], "takes one image"),
    (["totalspineseg", "-i", "{t2}", "-thr", "0.5"], "-thr does not apply"),
    (["spinalcord", "-i", "{t2}", "-step1-only", "1"], "totalspineseg"),
    (["spinalcord", "-i", "{dwi4d}", "-custom-url", "{zip}"], "4-D"),
    (["spinalcord", "-i", "{slice2d}", "-custom-url", "{zip}"], "at least 2 voxels"),
    (["spinalcord", "-i", "{t2}", "-custom-url", "/nonexistent/model.zip"], "not found"),
    (["spinalcord", "-i", "{t2}", "-o", "{t2}", "-custom-url", "{zip}"], "Refusing to overwrite"),
])
def test_bad_input_one_line_error(env, model_zip, sct_testing_data, capsys, argv, message):
    from spinalcordtoolbox.image import Image, crop_image
    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    crop_image(Image(t2), zmin=20, zmax=20).save(env / "slice.nii.gz")
    paths = {"t2": str(t2), "dwi4d": str(sct_testing_data / "dmri" / "dmri.nii.gz"),
             "slice2d": str(env / "slice.nii.gz"), "zip": str(model_zip)}
    before = set(p.name for p in env.iterdir())
    assert run([a.format(**paths) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR:") and message in err and "Traceback" not in err
    assert not {p.name for p in env.iterdir()} - before - {"cache"}  # no output left behind


@pytest.fixture(scope="module")
def region_zip(sct_testing_data, tmp_path_factory):
    """A tiny region-based model (SCIsegV2 layout) on a crop of the t2 subject, zipped as a release."""
    import torch

    from helpers import nnunet_layouts as layouts
    from spinalcordtoolbox.image import Image, crop_image
    box = dict(xmin=14, xmax=47, ymin=5, ymax=44, zmin=10, zmax=40)
    im = crop_image(Image(sct_testing_data / "t2" / "t2.nii.gz"), **box)
    cord = crop_image(Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"), **box)
    root = tmp_path_factory.mktemp("region")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        layouts.build("region", root / "model_sci", im, cord, iterations=30)
    finally:
        torch.set_num_threads(threads)
    im.save(root / "t2crop.nii.gz")
    cord.save(root / "t2crop_cord.nii.gz")
    return layouts.zip_folder(root / "model_sci", root / "model_sci.zip"), root


def test_region_model_two_outputs_sidecars_and_qc(env, region_zip):
    """lesion_sci_t2 with a region-based model: _sc_seg and _lesion_seg next to the input (the
    lesion inside the cord), a JSON sidecar each, one QC entry per output centred by -qc-seg."""
    import json
    import shutil

    from spinalcordtoolbox.image import Image
    archive, root = region_zip
    shutil.copy(root / "t2crop.nii.gz", env / "t2crop.nii.gz")
    assert run(["lesion_sci_t2", "-i", str(env / "t2crop.nii.gz"), "-custom-url", str(archive), "-qc", "qc",
                "-qc-seg", str(root / "t2crop_cord.nii.gz"), "-qc-plane", "Sagittal", "-v", "0"]) == 0
    sc, lesion = Image(env / "t2crop_sc_seg.nii.gz").data, Image(env / "t2crop_lesion_seg.nii.gz").data
    assert lesion.sum() > 0 and np.all(sc[lesion > 0] == 1) and sc.sum() > lesion.sum()
    for name in ("t2crop_sc_seg.json", "t2crop_lesion_seg.json"):
        assert json.loads((env / name).read_text())["GeneratedBy"][0]["ModelURL"] == [str(archive)]
    from spinalcordtoolbox.reports.records import collect_records
    records = collect_records(env / "qc")
    assert sorted(r["seg"].rsplit("/", 1)[-1] for r in records) == ["t2crop_lesion_seg.nii.gz",
                                                                     "t2crop_sc_seg.nii.gz"]
    assert {r["plane"] for r in records} == {"sagittal"}
    # -o with several outputs: the suffix goes before the extension
    assert run(["lesion_sci_t2", "-i", str(env / "t2crop.nii.gz"), "-o", "out/res.nii.gz", "-v", "0",
                "-qc", "qc2", "-qc-seg", str(root / "t2crop_cord.nii.gz")]) == 0
    assert np.array_equal(Image(env / "out" / "res_lesion_seg.nii.gz").data, lesion)
    assert {r["plane"] for r in collect_records(env / "qc2")} == {"axial"}
    assert len(collect_records(env / "qc2")) == 2
