"""sct_deepseg totalspineseg / spine: the TotalSpineSeg pipeline on weights installed through the
toolbox's downloader ($SCT_DATA_MIRROR), with tiny stand-ins of the two release models fitted to a
synthetic spine phantom whose discs, cord and canal are known voxel for voxel."""
import nibabel as nib
import numpy as np
import pytest

from helpers.tiny_totalspineseg import CANAL_X, CANAL_Y, CORD_X, CORD_Y, DISC_HALF, DISC_Y, DISC_Z, phantom
from spinalcordtoolbox.scripts.sct_deepseg import main


@pytest.fixture(scope="module")
def release():
    from helpers.tiny_totalspineseg import tiny_release
    return tiny_release()


@pytest.fixture
def env(in_tmp, monkeypatch, release):
    monkeypatch.setenv("SCT_DATA_DIR", str(in_tmp / "cache"))
    monkeypatch.setenv("SCT_DATA_MIRROR", str(release))
    img, _, _, affine = phantom()
    nib.save(nib.Nifti1Image(img, affine), in_tmp / "spine.nii.gz")
    return in_tmp


def run(argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def _points(path):
    data = np.asanyarray(nib.load(path).dataobj)
    return {int(data[tuple(i)]): tuple(int(v) for v in i) for i in np.argwhere(data)}, data


def test_step1_only_disc_labels_cord_canal(env):
    assert run(["totalspineseg", "-i", "spine.nii.gz", "-step1-only", "1"]) in (0, None)
    written = sorted(p.name for p in env.glob("spine_*.nii.gz"))
    assert written == ["spine_step1_canal.nii.gz", "spine_step1_cord.nii.gz", "spine_step1_levels.nii.gz",
                       "spine_step1_output.nii.gz"]
    assert (env / "spine_step1_levels.json").is_file()
    points, data = _points(env / "spine_step1_levels.nii.gz")
    # one point per disc, 3 = C2-C3 (the top disc) down to 7 = C6-C7, at its posterior edge
    assert np.count_nonzero(data) == 5 and sorted(points) == [3, 4, 5, 6, 7]
    for label, zc in zip([3, 4, 5, 6, 7], DISC_Z):
        x, y, z = points[label]
        assert abs(z - zc) <= DISC_HALF + 1, (label, points[label])
        assert abs(y - (DISC_Y[1] - 1)) <= 1 and CANAL_X[0] <= x < CANAL_X[1], (label, points[label])
    # step 1 labels: cord 1 and canal 2 exactly the phantom's (canal = tube minus cord)
    out = np.asanyarray(nib.load(env / "spine_step1_output.nii.gz").dataobj)
    n_z = 76
    cord = (CORD_X[1] - CORD_X[0]) * (CORD_Y[1] - CORD_Y[0]) * n_z
    tube = (CANAL_X[1] - CANAL_X[0]) * (CANAL_Y[1] - CANAL_Y[0]) * n_z
    assert np.count_nonzero(out == 1) == cord and np.count_nonzero(out == 2) == tube - cord
    assert sorted(set(np.unique(out)) & set(range(63, 68))) == [63, 64, 65, 66, 67]
    soft = nib.load(env / "spine_step1_cord.nii.gz").get_fdata()
    assert soft.max() <= 1 and abs(np.count_nonzero(soft > 0.5) - cord) <= 0.1 * cord


def test_spine_v72_name(env):
    """``spine`` without -label-vert: step 1 only, the disc labels under the v7.2 name."""
    assert run(["spine", "-i", "spine.nii.gz"]) in (0, None)
    assert sorted(p.name for p in env.glob("spine_*.nii.gz")) == ["spine_totalspineseg_discs.nii.gz"]
    points, _ = _points(env / "spine_totalspineseg_discs.nii.gz")
    assert sorted(points) == [3, 4, 5, 6, 7]


@pytest.mark.parametrize("argv, message", [
    (["totalspineseg", "-i", "spine.nii.gz", "-thr", "0.5"], "-thr does not apply"),
    (["spine", "-i", "spine.nii.gz", "-largest", "1"], "do not apply to 'spine'"),
    (["totalspineseg", "-i", "spine.nii.gz", "-label-vert", "1"], "applies to the 'spine' task only"),
    (["spine", "-i", "spine.nii.gz", "-label-vert", "1", "-step1-only", "1"], "cannot be combined"),
])
def test_postprocessing_flags_refused(env, capsys, argv, message):
    assert run(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR:") and message in err
    assert not list(env.glob("spine_*"))


def test_offline_without_mirror_names_the_release_and_mirror(env, monkeypatch, capsys):
    from spinalcordtoolbox import download

    def offline(name, urls, folder):  # what _download raises when every URL fails
        raise download.DownloadError(f"Could not download {name} from {urls[0]} (ConnectionError). If "
                                     f"this machine is offline, set {download.MIRROR_ENV}=<folder>")
    monkeypatch.setattr(download, "_download", offline)
    monkeypatch.delenv("SCT_DATA_MIRROR")
    assert run(["totalspineseg", "-i", "spine.nii.gz"]) == 1
    err = capsys.readouterr().err
    assert "Dataset101_TotalSpineSeg_step1" in err and "SCT_DATA_MIRROR" in err
    assert not list(env.glob("spine_*")) and not (env / "cache" / "deepseg_models" / "totalspineseg").exists()


def test_totalspineseg_outputs_of_both_steps():
    from spinalcordtoolbox.deepseg.segment import totalspineseg_plan
    assert totalspineseg_plan("totalspineseg") == (False, [(f, "_" + f) for f in (
        "step1_levels", "step1_cord", "step1_canal", "step1_output", "step2_output")])
    assert totalspineseg_plan("totalspineseg", step1_only=True)[0] is True
    assert totalspineseg_plan("spine") == (True, [("step1_levels", "_totalspineseg_discs")])


def test_spine_label_vert_full_segmentation(env):
    """``spine -label-vert 1``: both steps, the established outputs; every vertebral body carries
    the level given by the disc labels around it (C3 = 13 between discs 3 (C2-C3) and 4 (C3-C4))."""
    assert run(["spine", "-i", "spine.nii.gz", "-label-vert", "1"]) in (0, None)
    written = sorted(p.name for p in env.glob("spine_*.nii.gz"))
    assert written == ["spine_step1_canal.nii.gz", "spine_step1_cord.nii.gz", "spine_step1_output.nii.gz",
                       "spine_step2_output.nii.gz", "spine_totalspineseg_all.nii.gz",
                       "spine_totalspineseg_discs.nii.gz"]
    points, _ = _points(env / "spine_totalspineseg_discs.nii.gz")
    assert sorted(points) == [3, 4, 5, 6, 7]
    out = np.asanyarray(nib.load(env / "spine_totalspineseg_all.nii.gz").dataobj)
    assert np.array_equal(out, np.asanyarray(nib.load(env / "spine_step2_output.nii.gz").dataobj))
    # step 2 labels the discs from C2-C3 (63) down, cord 1 and canal 2
    assert 63 in out and 1 in out and 2 in out
    cord = (CORD_X[1] - CORD_X[0]) * (CORD_Y[1] - CORD_Y[0]) * 76
    assert abs(np.count_nonzero(out == 1) - cord) <= 0.1 * cord
    # the vertebral body between two consecutive disc labels v, v + 1 is vertebra C(v) = 10 + v
    _, _, s2, _ = phantom()
    for upper, lower in zip([3, 4, 5, 6], [4, 5, 6, 7]):
        z_up, z_low = points[upper][2], points[lower][2]
        body = np.zeros(out.shape, bool)
        body[:, :, z_low + DISC_HALF + 1:z_up - DISC_HALF] = True
        body &= np.isin(s2, (7, 8))
        vertebra = out[body][(out[body] >= 11) & (out[body] <= 50)]  # TotalSpineSeg's vertebra labels
        assert np.all(vertebra == 10 + upper), (upper, np.unique(vertebra))
        assert vertebra.size >= 0.8 * np.count_nonzero(body)  # the tiny model misses some edges
