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


def run(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def test_spinalcord_custom_url_with_qc_and_postprocessing(env, model_zip, sct_testing_data, capsys):
    from spinalcordtoolbox.image import Image
    t2 = str(sct_testing_data / "t2" / "t2.nii.gz")
    assert run(["spinalcord", "-i", t2, "-custom-url", str(model_zip), "-qc", "qc", "-largest", "1",
                "-fill-holes", "1", "-remove-small", "10mm3", "-device", "cpu"]) == 0
    seg = Image("t2_seg.nii.gz")
    gt = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    assert seg.data.shape == gt.data.shape and np.allclose(seg.affine, gt.affine)
    assert set(np.unique(seg.data)) == {0, 1}
    d = dice(seg.data, gt.data)
    assert d >= 0.8, d
    from scipy import ndimage
    assert ndimage.label(seg.data > 0, np.ones((3, 3, 3)))[1] == 1  # -largest 1
    assert list((env / "qc").rglob("sct_deepseg"))  # QC entry written
    out = capsys.readouterr().out
    assert "fsleyes" in out and "t2_seg.nii.gz" in out

    # the model is now installed: a threshold run with -o reuses it
    assert run(["spinalcord", "-i", t2, "-custom-url", str(model_zip), "-thr", "0.9", "-o", "strict.nii.gz",
                "-v", "0"]) == 0
    strict = Image("strict.nii.gz").data
    assert 0 < strict.sum() <= seg.data.sum()


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
    (["tumor_t2", "-i", "{t2}"], "ivadomed"),
    (["totalspineseg", "-i", "{t2}"], "totalspineseg"),
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
