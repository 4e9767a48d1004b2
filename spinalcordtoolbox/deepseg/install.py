"""Install the models of a ``sct_deepseg`` task into the data cache, on demand.

Models install through the toolbox's one downloader (:func:`spinalcordtoolbox.download.
install_archive`: local mirror ``$SCT_DATA_MIRROR`` first, then the published URLs; progress
bar; atomic). A model installed from a ``-custom-url`` records that URL, so that asking for
the official model later reinstalls it instead of silently running the custom one.
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
    urls = info["urls"]
    wanted = {"custom_url": os.fspath(custom_url) if custom_url else None}
    if folder.is_dir() and _installed_source(folder) == wanted and not force:
        logger.info("Model %s is installed in %s", name, folder)
        return folder
    if custom_url:
        urls = [os.fspath(custom_url)]
    parts = urls if isinstance(urls, dict) else {None: urls}
    staging = folder.with_name(f".{name}.parts")
    import shutil
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for part, part_urls in parts.items():
            dest = staging / part if part else staging
            # a mirror may hold the model as <name>.zip (single part) or <name>_<part>.zip
            install_archive(f"{name}_{part}" if part else name, part_urls, dest, force=True)
        (staging / _SOURCE_FILE).write_text(json.dumps(wanted), encoding="utf-8")
        from spinalcordtoolbox.download import _move_into_place
        _move_into_place(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
