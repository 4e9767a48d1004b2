"""sct_deepseg library: registry, on-demand install, nnU-Net inference back on the input grid,
post-processing.

No zoo model can be downloaded here, so a tiny nnU-Net v2 model is fitted to the t2 test
subject (testing/helpers/tiny_nnunet.py, ~1-2 min on 2 cores, built once per test run) and
published as a zip: the tests install it through the downloader (local path, file:// URL,
http://127.0.0.1 server, mirror folder) and check the whole inference path.
"""
import functools
import http.server
import threading

import numpy as np
import pytest

from helpers.checks import dice


# tiny networks: more torch threads only contend on a loaded CI machine
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def data_cache(tmp_path, monkeypatch):
    """An empty data cache and no mirror: installs must come from the URL given."""
    monkeypatch.setenv("SCT_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SCT_DATA_MIRROR", raising=False)
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def installed_model(model_zip, tmp_path_factory):
    """The tiny model installed from its zip (session-wide, for the inference tests)."""
    from spinalcordtoolbox.download import install_archive
    return install_archive("tiny_cord_model", [str(model_zip)], tmp_path_factory.mktemp("m") / "tiny")


# ------------------------------------------------------------------ registry
def test_registry_covers_the_established_tasks():
    from spinalcordtoolbox.deepseg.models import MODELS, TASKS
    expected = {"spinalcord", "sc_epi", "sc_lumbar_t2", "sc_mouse_t1", "sc_canal_t2", "graymatter",
                "gm_sc_7t_t2star", "gm_wm_exvivo_t2", "gm_mouse_t1", "gm_wm_mouse_t1", "lesion_ms",
                "lesion_ms_axial_t2", "lesion_ms_mp2rage", "lesion_sci_t2", "tumor_t2",
                "tumor_edema_cavity_t1_t2", "rootlets", "totalspineseg"}
    assert expected <= set(TASKS)
    for name, task in TASKS.items():
        assert task["description"] and task["outputs"], name
        assert all(s.startswith("_") for s in task["outputs"]), name
        for model in task["models"]:
            urls = MODELS[model]["urls"]
            flat = [u for lst in (urls.values() if isinstance(urls, dict) else [urls]) for u in lst]
            assert flat and all(u.startswith("https://") for u in flat), model
    assert TASKS["spinalcord"]["outputs"] == {"_seg": [1]}
    assert "_lesion_seg" in TASKS["lesion_sci_t2"]["outputs"]
    assert "_canal_seg" in TASKS["sc_canal_t2"]["outputs"]
    assert "_step1_levels" in TASKS["totalspineseg"]["outputs"]


def test_unknown_task_suggests_the_closest():
    from spinalcordtoolbox.deepseg.models import task_info
    with pytest.raises(Exception, match="Did you mean 'spinalcord'"):
        task_info("spinalcrd")


# ------------------------------------------------------------------ install
def test_install_from_local_zip_then_file_url_reinstalls(model_zip, data_cache):
    from spinalcordtoolbox.deepseg.install import install_model, model_folder
    folder = install_model("model_seg_sc_contrast_agnostic_nnunet", custom_url=str(model_zip))
    assert folder == model_folder("model_seg_sc_contrast_agnostic_nnunet")
    assert (folder / "nnUNetTrainer__nnUNetPlans__2d" / "fold_0" / "checkpoint_final.pth").is_file()
    mtime = (folder / "source.json").stat().st_mtime_ns
    assert install_model("model_seg_sc_contrast_agnostic_nnunet", custom_url=str(model_zip)) == folder
    assert (folder / "source.json").stat().st_mtime_ns == mtime  # same source: not reinstalled
    install_model("model_seg_sc_contrast_agnostic_nnunet", custom_url=model_zip.as_uri())
    assert model_zip.as_uri() in (folder / "source.json").read_text()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_install_from_http_server(model_zip, data_cache):
    from spinalcordtoolbox.deepseg.install import install_task_models
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(model_zip.parent))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{model_zip.name}"
        (folder,) = install_task_models("spinalcord", [url])
    finally:
        server.shutdown()
    assert (folder / "nnUNetTrainer__nnUNetPlans__2d" / "plans.json").is_file()


def test_install_from_mirror_folder(model_zip, data_cache, tmp_path, monkeypatch):
    import shutil
    from spinalcordtoolbox.deepseg.install import install_task_models
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(model_zip, mirror / "model_seg_canal_t2w.zip")
    monkeypatch.setenv("SCT_DATA_MIRROR", str(mirror))
    (folder,) = install_task_models("sc_canal_t2")
    assert (folder / "nnUNetTrainer__nnUNetPlans__2d" / "dataset.json").is_file()


def test_install_offline_names_url_and_mirror_variable(data_cache, monkeypatch):
    from spinalcordtoolbox import download
    from spinalcordtoolbox.deepseg.install import install_model, model_folder

    def offline(name, urls, folder):  # what _download raises when every URL fails
        raise download.DownloadError(f"Could not download {name} from {urls[0]} (ConnectionError). If "
                                     f"this machine is offline, set {download.MIRROR_ENV}=<folder>")
    monkeypatch.setattr(download, "_download", offline)
    with pytest.raises(download.DownloadError, match="contrast-agnostic.*SCT_DATA_MIRROR"):
        install_model("model_seg_sc_contrast_agnostic_nnunet")
    assert not model_folder("model_seg_sc_contrast_agnostic_nnunet").exists()
    assert not data_cache.exists() or not any(p.name.startswith(".") for p in data_cache.rglob("*"))


def test_install_multi_part_asset(model_zip, tmp_path):
    """An asset published as several archives (one per fold/seed) installs into one folder."""
    from spinalcordtoolbox.download import install_archive
    from spinalcordtoolbox.deepseg.inference import find_nnunet_folders
    dest = install_archive("ens", {"model_fold0": [str(model_zip)], "model_fold1": [model_zip.as_uri()]},
                           tmp_path / "ens")
    assert [p.parent.name for p in find_nnunet_folders(dest)] == ["model_fold0", "model_fold1"]


def test_install_wrong_number_of_custom_urls(model_zip, data_cache):
    from spinalcordtoolbox.deepseg.install import install_task_models
    with pytest.raises(ValueError, match="needs 2 model"):
        install_task_models("tumor_t2", [str(model_zip)])


# ------------------------------------------------------------------ inference
def test_predict_native_grid_dice(installed_model, sct_testing_data):
    from spinalcordtoolbox.deepseg.inference import predict
    from spinalcordtoolbox.image import Image
    im = Image(sct_testing_data / "t2" / "t2.nii.gz")
    gt = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")
    labels = predict(im, installed_model, device="cpu")["labels"]
    assert labels.data.shape == im.data.shape and np.allclose(labels.affine, im.affine)
    assert labels.orientation == im.orientation == "AIL"
    d = dice(labels.data, gt.data)
    assert d >= 0.8, d  # measured 0.91 for the model fitted to this subject


def test_predict_other_orientation_and_resolution(installed_model, sct_testing_data):
    """RPI, 0.8 mm in-plane: nnU-Net resamples to its 1 mm spacing; the result must land back on
    this image's grid and agree with the manual segmentation brought to the same grid."""
    from scipy import ndimage

    from spinalcordtoolbox.deepseg.inference import predict
    from spinalcordtoolbox.image import Image

    im = Image(sct_testing_data / "t2" / "t2.nii.gz").change_orientation("RPI")
    gt = Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz").change_orientation("RPI")
    zoom = (1.25, 1.25, 1.0)
    affine = im.affine @ np.diag([1 / zoom[0], 1 / zoom[1], 1, 1])
    data = ndimage.zoom(im.data.astype(np.float32), zoom, order=1, grid_mode=False)
    gt_data = ndimage.zoom(gt.data.astype(np.float32), zoom, order=1, grid_mode=False) >= 0.5
    im2 = Image(data, affine=affine)
    labels = predict(im2, installed_model, single_fold=True, device="cpu")["labels"]
    assert labels.data.shape == data.shape and np.allclose(labels.affine, affine)
    assert labels.orientation == "RPI"
    d = dice(labels.data, gt_data)
    assert d >= 0.8, d


def test_predict_rejects_bad_images(installed_model):
    from spinalcordtoolbox.deepseg.inference import predict
    from spinalcordtoolbox.image import Image, ImageError
    with pytest.raises(ImageError, match="4-D"):
        predict(Image(np.zeros((8, 8, 8, 3), np.float32)), installed_model, device="cpu")
    with pytest.raises(ImageError, match="at least 2 voxels"):
        predict(Image(np.zeros((8, 8, 1), np.float32)), installed_model, device="cpu")


def test_device_choice():
    from spinalcordtoolbox.deepseg.inference import resolve_device
    import torch
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(Exception, match="device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


# ------------------------------------------------------------------ post-processing
def test_postprocessing_analytic():
    """The established toolbox's rules on a phantom: 26-connected largest object, 3-D hole
    filling (3x3x3), 18-connected small objects with round(mm3 / voxel volume), strict threshold."""
    from spinalcordtoolbox.deepseg import postprocessing as pp
    m = np.zeros((20, 20, 6), np.uint8)
    m[2:10, 2:10, :5] = 1            # 320 voxels
    m[15:17, 15:17, 2] = 1           # 4 voxels
    m[5, 5, 2] = 0                   # a hole inside the big object
    m[10, 10, 5] = 1                 # touches the block by a corner only: its own object in 18-conn,
    assert pp.keep_largest_object(m).sum() == 320   # part of it in 26-conn (319 + 1)
    assert pp.fill_holes(m).sum() == 325
    assert pp.remove_small_objects(m, 5, "vox").sum() == 319      # the corner voxel and the 4 go
    assert pp.remove_small_objects(m, 4, "vox").sum() == 323
    # at 0.5 mm3/voxel: 3 mm3 -> 6 voxels, 2.4 mm3 -> round(4.8) = 5, 2.2 mm3 -> round(4.4) = 4
    assert pp.remove_small_objects(m, *pp.parse_size("3mm3"), voxel_volume=0.5).sum() == 319
    assert pp.remove_small_objects(m, *pp.parse_size("2.4mm3"), voxel_volume=0.5).sum() == 319
    assert pp.remove_small_objects(m, *pp.parse_size("2.2mm3"), voxel_volume=0.5).sum() == 323
    assert pp.parse_sizes(["10", "20vox"]) == ([10.0, 20.0], "vox")
    assert pp.parse_sizes(["10mm3"]) == ([10.0], "mm3")
    with pytest.raises(ValueError):
        pp.parse_size("ten")
    p = np.linspace(0, 1, 11)
    assert pp.threshold(p, 0.5).sum() == 5          # strictly above
    assert pp.threshold(p, 0) is p                  # 0: no binarisation
    with pytest.raises(ValueError, match="between 0 and 1"):
        pp.threshold(p, 2)
    with pytest.raises(ValueError, match="binary"):
        pp.fill_holes(p.reshape(1, 1, -1))


def test_fold_and_folder_ensembles(installed_model, sct_testing_data, tmp_path):
    """Two result folders (the lesion_ms release ships one folder per fold) holding the same weights
    must give exactly the single-model result (majority vote of identical maps); the fold listing
    finds every fold, and -single-fold prefers fold 1."""
    import shutil

    from spinalcordtoolbox.deepseg.inference import available_folds, find_nnunet_folders, fold_list, predict
    from spinalcordtoolbox.image import Image, crop_image
    ensemble = tmp_path / "ensemble"
    (src,) = find_nnunet_folders(installed_model)
    for part in ("model_fold0", "model_fold1"):
        shutil.copytree(src, ensemble / part / src.name)
    shutil.copytree(src / "fold_0", tmp_path / "ensemble" / "model_fold1" / src.name / "fold_1")
    assert available_folds(ensemble / "model_fold1" / src.name) == ["0", "1"]
    assert [f for _, f in fold_list(ensemble)] == ["0", "0", "1"]
    assert [(p.parent.name, f) for p, f in fold_list(ensemble, single_fold=True)] == [("model_fold1", "1")]
    im = crop_image(Image(sct_testing_data / "t2" / "t2.nii.gz"), ymin=20, ymax=35)  # 16 axial slices
    single = predict(im, installed_model, single_fold=True, device="cpu")["labels"]
    many = predict(im, ensemble, device="cpu")["labels"]
    assert np.array_equal(single.data, many.data)
