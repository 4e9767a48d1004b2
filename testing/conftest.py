"""Shared test fixtures: data location (one helper), tiny synthetic images, output guards."""
import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
# matplotlib must never try to open a window during tests
os.environ.setdefault("MPLBACKEND", "Agg")


_MISSING_DATA = {}


def _data(name):
    """find_data, or skip the test with the one-line reason (what to download, which mirror
    variable to set) when the data is neither beside the checkout nor downloadable (offline).
    CI has ../shared/data, so there every data test runs. A failed look-up is remembered: the
    download is not retried for every test."""
    from spinalcordtoolbox.download import DownloadError, find_data
    if name in _MISSING_DATA:
        pytest.skip(_MISSING_DATA[name])
    try:
        return find_data(name)
    except DownloadError as e:
        _MISSING_DATA[name] = str(e)
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def sct_testing_data():
    """Path to sct_testing_data (SCT_DATA_MIRROR, then ../shared/data, then download)."""
    return _data("sct_testing_data")


@pytest.fixture(scope="session")
def pam50():
    return _data("PAM50")


@pytest.fixture(scope="session")
def pam50_normalized_metrics():
    return _data("PAM50_normalized_metrics")


@pytest.fixture(scope="session")
def models_dir():
    return _data("deepseg_gm_models").parent


@pytest.fixture(scope="session")
def model_zip(sct_testing_data):
    """A small real nnU-Net model fitted to the t2 subject, zipped as a release (built once per run)."""
    from helpers.tiny_nnunet import tiny_model_zip
    return tiny_model_zip(sct_testing_data)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run the test with the working directory set to a fresh temporary folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def _no_int64_nifti(monkeypatch):
    """Fail any test that saves an int64 NIfTI (most tools cannot read them)."""
    import nibabel as nib
    original = nib.save

    def guarded(img, filename, *args, **kwargs):
        if hasattr(img, "get_data_dtype") and img.get_data_dtype() in (np.int64, np.uint64):
            raise AssertionError(f"int64 NIfTI written: {filename}")
        return original(img, filename, *args, **kwargs)

    monkeypatch.setattr(nib, "save", guarded)


def make_image(data, affine=None):
    """A tiny in-memory Image with an explicit affine."""
    from spinalcordtoolbox.image import Image
    return Image(np.asarray(data), affine=np.eye(4) if affine is None else affine)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for the module's tests (tiny networks: more threads only contend)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory):
    """Pretrained weights located through the downloader, as at run time: a fresh data cache
    ($SCT_DATA_DIR) installed from the shared data as local mirror ($SCT_DATA_MIRROR, unless set).
    Module scope, so the variables do not leak into other test modules."""
    from spinalcordtoolbox.download import SHARED_DATA, missing_data_message
    if not os.environ.get("SCT_DATA_MIRROR") and not (SHARED_DATA / "models").is_dir():
        pytest.skip(missing_data_message("models"))
    cache = tmp_path_factory.mktemp("sct_data_cache")
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get("SCT_DATA_MIRROR") and (SHARED_DATA / "models").is_dir():
            mp.setenv("SCT_DATA_MIRROR", str(SHARED_DATA))
        mp.setenv("SCT_DATA_DIR", str(cache))
        yield cache
