"""Install the models of a ``sct_deepseg`` task into the data cache, on demand.

Models install through the toolbox's one downloader (:func:`spinalcordtoolbox.download.
install_archive`: local mirror ``$SCT_DATA_MIRROR`` first, then the published URLs; progress
bar; atomic). Each installed model records where it came from (``source.json``), so that asking for the
official model after a ``-custom-url`` (or after a new release) reinstalls it instead of
silently running another one.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from spinalcordtoolbox.deepseg.models import MODELS, task_info

logger = logging.getLogger(__name__)

_SOURCE_FILE = "source.json"


def models_dir() -> Path:
    """Folder holding the installed models: ``<data cache>/deepseg_models``."""
    from spinalcordtoolbox.download import cache_dir
    return cache_dir() / "deepseg_models"


def model_folder(name: str) -> Path:
    return models_dir() / name


def _installed_source(folder: Path):
    try:
        return json.loads((folder / _SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def install_model(name: str, custom_url=None, force=False) -> Path:
    """Install one model (all its parts for multi-part models); return its folder.

    A plain call (no ``custom_url``, no ``force``) uses what is installed when it is a custom
    model (a ``-custom-url`` install stays until the official model is asked for with
    ``force``, i.e. ``-install``) or the current official release; an older official release
    is replaced by the current one.
    """
    from spinalcordtoolbox.download import install_archive

    info = MODELS[name]
    folder = model_folder(name)
    urls = [os.fspath(custom_url)] if custom_url else info["urls"]
    wanted = {"source": urls, "custom": bool(custom_url)}
    installed = _installed_source(folder) if folder.is_dir() else None
    if installed is not None:
        same = installed.get("source") == urls
        keep_custom = installed.get("custom") and not custom_url and not force
        if keep_custom or same:
            if keep_custom:
                logger.warning("Using the custom model installed in %s (from %s); run with -install to "
                               "reinstall the official one", folder, installed.get("source"))
            else:
                logger.info("Model %s is installed in %s", name, folder)
            return folder
    # several parts (seeds, folds) install together into <folder>/<part>
    install_archive(name, urls, folder, force=True)
    # written last: an interrupted install has no source record and is redone next time
    (folder / _SOURCE_FILE).write_text(json.dumps(wanted), encoding="utf-8")
    logger.info("Model %s installed in %s", name, folder)
    return folder


def installed_source(name: str):
    """Where the installed model ``name`` came from ({"source": [urls], "custom": bool}) or None."""
    return _installed_source(model_folder(name))


def install_task_models(task: str, custom_urls=None, force=False) -> list[Path]:
    """Install every model of ``task`` (``custom_urls``: one URL or zip path per model)."""
    names = task_info(task)["models"]
    if custom_urls:
        if len(custom_urls) != len(names):
            raise ValueError(f"Task '{task}' needs {len(names)} model(s) ({', '.join(names)}), "
                             f"got {len(custom_urls)} URL(s) with -custom-url")
        return [install_model(n, u, force) for n, u in zip(names, custom_urls)]
    return [install_model(n, None, force) for n in names]
