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
    """Install one model (all its parts for multi-part models); return its folder."""
    from spinalcordtoolbox.download import install_archive

    info = MODELS[name]
    folder = model_folder(name)
    urls = [os.fspath(custom_url)] if custom_url else info["urls"]
    # a changed official URL (new release) or another custom URL triggers a reinstall
    wanted = {"source": urls}
    if folder.is_dir() and _installed_source(folder) == wanted and not force:
        logger.info("Model %s is installed in %s", name, folder)
        return folder
    # several parts (seeds, folds) install together into <folder>/<part>
    install_archive(name, urls, folder, force=True)
    # written last: an interrupted install has no source record and is redone next time
    (folder / _SOURCE_FILE).write_text(json.dumps(wanted), encoding="utf-8")
    logger.info("Model %s installed in %s", name, folder)
    return folder


def install_task_models(task: str, custom_urls=None, force=False) -> list[Path]:
    """Install every model of ``task`` (``custom_urls``: one URL or zip path per model)."""
    names = task_info(task)["models"]
    if custom_urls:
        if len(custom_urls) != len(names):
            raise ValueError(f"Task '{task}' needs {len(names)} model(s) ({', '.join(names)}), "
                             f"got {len(custom_urls)} URL(s) with -custom-url")
        return [install_model(n, u, force) for n, u in zip(names, custom_urls)]
    return [install_model(n, None, force) for n in names]
