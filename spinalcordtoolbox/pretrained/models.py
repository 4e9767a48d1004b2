"""Where the pretrained weight files are: located through the toolbox's downloader.

The weights install on demand into the data cache (``sct_download_data -d <asset>``, or a
local mirror named by ``$SCT_DATA_MIRROR``); nothing here reads a hard-coded path.
"""
from __future__ import annotations

from pathlib import Path

GM_MODELS = ("large", "challenge")
CENTERLINE_CONTRASTS = ("t2", "t2s", "dwi")  # detectors available offline (t1_ctr.h5 is not)
LESION_CONTRASTS = ("t2_ax", "t2s")  # 3-D lesion models available offline (t2_lesion.h5 is not)
SC_MODELS_URL = "https://github.com/spinalcordtoolbox/deepseg_sc_models"


class ModelNotAvailableError(RuntimeError):
    """The weights a network needs are not installed and cannot be installed here."""


def _asset_file(asset: str, filename: str, hint: str = "") -> Path:
    from spinalcordtoolbox.download import MIRROR_ENV, locate

    folder = locate(asset)
    path = Path(folder) / filename
    if not path.is_file():
        raise ModelNotAvailableError(
            f"{filename} is not in the installed {asset} ({folder}){hint}. Install the complete "
            f"models with 'sct_download_data -d {asset} -overwrite', or set {MIRROR_ENV} to a folder "
            f"holding them")
    return path


def gm_model_path(model: str = "large") -> Path:
    if model not in GM_MODELS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("GM model", model, GM_MODELS)
    return _asset_file("deepseg_gm_models", f"{model}_model.hdf5")


def centerline_model_path(contrast: str) -> Path:
    if contrast not in CENTERLINE_CONTRASTS + ("t1",):
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("contrast", contrast, ("t1",) + CENTERLINE_CONTRASTS)
    hint = ""
    if contrast == "t1":
        hint = (f" (the t1 detector is not among the weights available offline; see {SC_MODELS_URL}; "
                "or give the centerline with -centerline file)")
    return _asset_file("deepseg_sc_models", f"{contrast}_ctr.h5", hint)


def sc_model_path(contrast: str, kernel: str = "2d") -> Path:
    """The deepseg_sc cord segmentation weights (``<c>_sc.h5`` / ``<c>_sc_3D.h5``)."""
    from spinalcordtoolbox.download import MIRROR_ENV, asset_info, locate

    filename = f"{contrast}_sc.h5" if kernel == "2d" else f"{contrast}_sc_3D.h5"
    folder = locate("deepseg_sc_models")
    path = Path(folder) / filename
    if not path.is_file():
        url = asset_info("deepseg_sc_models")["urls"][0]
        raise ModelNotAvailableError(
            f"The cord segmentation weights {filename} are not installed (only the centerline detectors "
            f"are in {folder}). Download them from {url} "
            f"(sct_download_data -d deepseg_sc_models -overwrite) or "
            f"set {MIRROR_ENV} to a folder holding them; '-centerline-only' still gives the centerline")
    return path


def lesion_model_path(contrast: str) -> Path:
    if contrast not in LESION_CONTRASTS + ("t2",):
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("contrast", contrast, ("t2",) + LESION_CONTRASTS)
    hint = ""
    if contrast == "t2":
        hint = " (the sagittal T2 lesion model is not among the weights available offline; -c t2_ax " \
               "runs the axial T2 model, which also suits isotropic T2 images)"
    return _asset_file("deepseg_lesion_models", f"{contrast}_lesion.h5", hint)
