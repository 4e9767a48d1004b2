"""sct_propseg command: outputs and their names, centerline, QC entry, one-line errors."""
import numpy as np
import pytest

from spinalcordtoolbox.scripts.sct_propseg import main


def run(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.fixture
def env(in_tmp, model_cache):
    return in_tmp


def test_t2_outputs_centerline_and_qc(env, sct_testing_data, capsys):
    from spinalcordtoolbox.image import Image
    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    assert run(["-i", str(t2), "-c", "t2", "-centerline-binary", "-qc", "qc", "-ofolder", "out"]) == 0
    seg = Image(env / "out" / "t2_seg.nii.gz")
    ctl = Image(env / "out" / "t2_centerline.nii.gz")
    gt = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    assert np.allclose(seg.affine, gt.affine) and seg.data.shape == gt.data.shape
    a, b = seg.data > 0, gt.data > 0
    assert 2 * (a & b).sum() / (a.sum() + b.sum()) >= 0.85
    # one centerline voxel per axial slice (t2 is AIL: axial slices along the 2nd axis)
    assert (ctl.data.sum(axis=(0, 2)) == 1).all()
    assert list((env / "qc").rglob("sct_propseg"))
    assert "fsleyes" in capsys.readouterr().out


def test_init_z_and_radius_with_output_name(env, sct_testing_data):
    t1 = sct_testing_data / "t1" / "t1w.nii.gz"
    assert run(["-i", str(t1), "-c", "t1", "-init", "0.5", "-radius", "4", "-o", "cord.nii.gz", "-v", "0"]) == 0
    assert (env / "cord.nii.gz").is_file()


@pytest.mark.parametrize("argv, message", [
    (["-i", "{dmri}", "-c", "dwi"], "4-D"),
    (["-i", "{slice}", "-c", "t2"], "single slice"),
    (["-i", "{t2}", "-c", "t22"], "Did you mean 't2'"),
    (["-i", "{noise}", "-c", "t1"], "No spinal cord found"),
    (["-i", "{t2}", "-c", "t2", "-init", "500"], "outside"),
    (["-i", "{t2}", "-c", "t2", "-o", "{t2}"], "Refusing to overwrite"),
])
def test_bad_input_one_line_error(env, sct_testing_data, capsys, argv, message):
    from spinalcordtoolbox.image import Image, crop_image
    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    crop_image(Image(t2), ymin=30, ymax=30).save(env / "slice.nii.gz")
    Image(np.random.default_rng(0).normal(100, 20, (30, 30, 10)).astype(np.float32)).save(env / "noise.nii.gz")
    paths = {"t2": str(t2), "dmri": str(sct_testing_data / "dmri" / "dmri.nii.gz"),
             "slice": str(env / "slice.nii.gz"), "noise": str(env / "noise.nii.gz")}
    before = {p.name for p in env.iterdir()}
    assert run([a.format(**paths) for a in argv]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # earlier lines: progress bars
    assert last.startswith("ERROR:") and message in last and "Traceback" not in err
    assert {p.name for p in env.iterdir()} == before
