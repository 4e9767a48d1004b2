"""The one downloader of the toolbox: datasets, templates and models, installed on demand.

Assets are declared in ``data/registry/assets.json`` (real public URLs). They install into a
cache folder (``$SCT_DATA_DIR``, else ``$SCT_DIR/data``), atomically: the archive is
downloaded into a temporary folder beside the cache, checked (sha256 when known, zip
integrity, required files, per-file manifest), and only then moved into place. A failed or
interrupted install leaves nothing behind.

``$SCT_DATA_MIRROR`` names a local folder that serves the same assets (as folders or as
``<name>.zip``) without network: this is how tests and offline sites install them.
``$SCT_OFFLINE=1`` forbids network downloads (a missing asset is then a one-line error).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

from spinalcordtoolbox import REPO_DIR

logger = logging.getLogger(__name__)

MIRROR_ENV = "SCT_DATA_MIRROR"
REGISTRY_DIR = REPO_DIR / "data" / "registry"


class DownloadError(RuntimeError):
    """An asset could not be downloaded or verified; nothing was installed."""


@lru_cache(maxsize=None)
def registry() -> dict:
    with open(REGISTRY_DIR / "assets.json", encoding="utf-8") as f:
        reg = json.load(f)
    reg.pop("_doc", None)
    return reg


def asset_info(name: str) -> dict:
    reg = registry()
    if name not in reg:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("dataset", name, sorted(reg))
    return reg[name]


def sct_dir() -> Path:
    return Path(os.environ.get("SCT_DIR") or REPO_DIR)


def cache_dir() -> Path:
    """Where assets are installed: $SCT_DATA_DIR, else $SCT_DIR/data."""
    return Path(os.environ.get("SCT_DATA_DIR") or sct_dir() / "data")


def default_location(name: str) -> Path:
    asset_info(name)
    return cache_dir() / name


def is_installed(name: str, folder=None) -> bool:
    folder = Path(folder) if folder else default_location(name)
    info = asset_info(name)
    if not folder.is_dir() or not any(folder.iterdir()):
        return False
    return all((folder / f).exists() for f in info.get("required", []))


def mirror_folders() -> list[Path]:
    """Local mirrors: $SCT_DATA_MIRROR (os.pathsep-separated) only."""
    value = os.environ.get(MIRROR_ENV, "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def _find_in_mirrors(name: str):
    info = asset_info(name)
    for mirror in mirror_folders():
        for rel in (info.get("mirror_path", name), name):
            folder = mirror / rel
            if folder.is_dir():
                return folder
            for archive in (mirror / f"{rel}.zip", mirror / f"{name}.zip"):
                if archive.is_file():
                    return archive
    return None


def available_source(name: str):
    """A local copy of ``name`` that installs without network (mirror or ../shared/data), or None."""
    source = _find_in_mirrors(name)
    if source is not None:
        return source
    rel = asset_info(name).get("mirror_path", name)
    return SHARED_DATA / rel if (SHARED_DATA / rel).is_dir() else None


def locate(name: str, install=True) -> Path:
    """Folder of an installed asset; install it (mirror first, then URLs) when missing."""
    folder = default_location(name)
    if is_installed(name, folder):
        return folder
    if not install:
        raise DownloadError(f"{name} is not installed: run 'sct_download_data -d {name}'")
    return install_asset(name, folder)


def install_asset(name: str, dest=None, force=False) -> Path:
    """Install ``name`` into ``dest`` (default: the cache). Verified before anything is moved.

    A new or empty ``dest`` (and the cache) receives the asset atomically; ``force`` reinstalls an
    installed copy. A user's non-empty folder is never replaced: the asset is merged into it, its
    files already there are kept (``force``: replaced by the asset's) and nothing else is touched.
    """
    info = asset_info(name)
    explicit = dest is not None
    dest = Path(dest) if dest else default_location(name)
    if dest.exists() and not dest.is_dir():
        raise DownloadError(f"Cannot install {name} into {dest}: it is a file; give a folder name")
    if is_installed(name, dest) and not force:
        logger.info("%s is already installed in %s", name, dest)
        return dest
    merge = explicit and dest.is_dir() and any(dest.iterdir())

    def fill(content: Path, staging: Path):
        source = _find_in_mirrors(name)
        if source is not None:
            logger.info("Installing %s from local mirror %s", name, source)
            if source.is_dir():
                shutil.copytree(source, content)
                _check_manifest(name, content, info)
            else:
                _extract_zip(source, content, info.get("sha256"))
        else:
            archive = _download(name, info["urls"], staging)
            _extract_zip(archive, content, info.get("sha256"))

    return _staged_install(name, dest, info.get("required", []), fill,
                           merge="overwrite" if merge and force else "keep" if merge else None)


def _staged_install(name: str, dest: Path, required, fill, merge=None) -> Path:
    """``fill(content, staging)`` a staging folder beside ``dest``, check it, move it into place
    (``merge`` "keep"/"overwrite": file by file into the existing ``dest``, see :func:`_merge_into`)."""
    from spinalcordtoolbox.utils.fs import staging_name_parts, sweep_stale

    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(dest.parent)  # installs killed half-way (their staging folders carry their pid)
    prefix, suffix = staging_name_parts(name)
    staging = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=dest.parent))
    try:
        content = staging / "content"
        fill(content, staging)
        _make_writable(content)
        missing = [f for f in required if not (content / f).exists()]
        if missing:
            raise DownloadError(f"{name}: downloaded content lacks {', '.join(missing)}")
        if merge:
            _merge_into(name, content, dest, overwrite=merge == "overwrite")
        else:
            _move_into_place(content, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not merge:
        logger.info("Installed %s in %s", name, dest)
    return dest


def _merge_into(name: str, content: Path, dest: Path, overwrite=False):
    """Move the verified files of ``content`` into the user's folder ``dest``: new files are
    added, files already there are kept (``overwrite``: replaced, recoverable until the command
    ends), nothing else is deleted. Under a command, a failure removes what was added."""
    from spinalcordtoolbox.utils import fs

    files = sorted(p.relative_to(content) for p in content.rglob("*") if not p.is_dir())
    clash = [rel for rel in files
             if any((dest / parent).exists() and not (dest / parent).is_dir() for parent in rel.parents)
             or (dest / rel).is_dir()]
    if clash:  # checked before anything moves: a file of the user's where the asset has a folder
        raise DownloadError(f"Cannot merge {name} into {dest}: {clash[0]} is a folder in one and a "
                            f"file in the other; choose a new or empty folder")
    added, existing = [], []
    txn = fs.current_transaction()
    for rel in files:
        target = dest / rel
        there = target.exists()
        (existing if there else added).append(rel)
        if there and not overwrite:
            continue
        fs.makedirs(target.parent)
        if txn is not None:
            txn.replace(str(content / rel), str(target))
        else:
            os.replace(content / rel, target)
    shown = ", ".join(map(str, existing[:3]))
    if len(existing) > 3:
        shown += f" and {len(existing) - 3} more"
    if existing and overwrite:
        logger.info("Merged %s into %s: %d file(s) added, %d replaced (%s)", name, dest, len(added),
                    len(existing), shown)
    elif existing:
        logger.info("Merged %s into %s: %d file(s) added, %d already there kept as they are (%s; "
                    "-overwrite replaces them)", name, dest, len(added), len(existing), shown)
    else:
        logger.info("Merged %s into %s: %d file(s) added; no file of the folder was changed", name, dest,
                    len(added))


def _make_writable(folder: Path):
    """Mirror copies keep the mirror's (often read-only) modes: give the installed copy normal ones,
    so that a later reinstall or cache clean-up can remove it."""
    umask = os.umask(0)
    os.umask(umask)
    for root, dirs, files in os.walk(folder):
        os.chmod(root, 0o777 & ~umask | 0o700)
        for f in files:
            os.chmod(os.path.join(root, f), 0o666 & ~umask | 0o600)


def install_archive(name: str, urls, dest, *, sha256=None, required=(), force=False) -> Path:
    """Install an asset described by its URLs (not in the registry) into ``dest``, atomically.

    ``urls`` are tried in order; each may be an http(s) URL, a ``file://`` URL or a local path
    to a ``.zip`` archive or a folder. ``$SCT_DATA_MIRROR`` is searched first for
    ``<name>/`` or ``<name>.zip``. A dict ``{part: urls}`` installs several archives together,
    each into ``dest/<part>`` (mirror name ``<name>_<part>``). Used for the model zoo of
    ``sct_deepseg`` and its ``-custom-url``.
    """
    dest = Path(dest)
    if dest.is_dir() and any(dest.iterdir()) and not force:
        logger.info("%s is already installed in %s", name, dest)
        return dest
    parts = urls if isinstance(urls, dict) else {None: urls}

    def fill(content: Path, staging: Path):
        for part, part_urls in parts.items():
            _fill_from_urls(f"{name}_{part}" if part else name, part_urls,
                            content / part if part else content, staging, sha256)

    return _staged_install(name, dest, required, fill)


def _fill_from_urls(name: str, urls, content: Path, staging: Path, sha256=None):
    urls = [os.fspath(u) for u in ([urls] if isinstance(urls, (str, os.PathLike)) else urls)]
    source = next((c for m in mirror_folders() for c in (m / name, m / f"{name}.zip") if c.exists()), None)
    if source is None:
        source = next((p for p in map(_local_path, urls) if p is not None and p.exists()), None)
    if source is not None and source.is_dir():
        logger.info("Installing %s from %s", name, source)
        shutil.copytree(source, content)
    elif source is not None:
        logger.info("Installing %s from %s", name, source)
        _extract_zip(source, content, sha256)
    else:
        remote = [u for u in urls if _local_path(u) is None]
        if not remote:
            raise DownloadError(f"{name}: {', '.join(urls)} not found")
        _extract_zip(_download(name, remote, staging), content, sha256)


def _local_path(url: str):
    """The local path a URL names (``file://`` URL or plain path), None for network URLs."""
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse
        return Path(unquote(urlparse(url).path))
    if "://" in url:
        return None
    return Path(url).expanduser()


def _move_into_place(content: Path, dest: Path):
    backup = None
    if dest.exists():
        backup = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, backup)
    try:
        os.replace(content, dest)
    except Exception:
        if backup is not None:
            os.replace(backup, dest)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def sha256sum(path, chunk=1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _check_manifest(name: str, folder: Path, info: dict):
    manifest = info.get("manifest")
    if not manifest:
        return
    with open(REGISTRY_DIR / "manifests" / manifest, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            digest, rel = line.strip().split(None, 1)
            path = folder / rel
            if not path.is_file():
                raise DownloadError(f"{name}: file {rel} is missing from the mirror copy; nothing installed")
            if sha256sum(path) != digest:
                raise DownloadError(f"{name}: checksum mismatch for {rel} (corrupted copy); nothing installed")


def _extract_zip(archive: Path, dest: Path, sha256=None):
    if sha256 and sha256sum(archive) != sha256:
        raise DownloadError(f"Checksum mismatch for {archive.name}: corrupted download; nothing installed")
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DownloadError(f"Corrupted archive {archive.name} (bad member {bad}); nothing installed")
            for member in zf.namelist():
                target = (dest / member).resolve()
                if not str(target).startswith(str(dest.resolve())):
                    raise DownloadError(f"Unsafe path in archive {archive.name}: {member}")
            zf.extractall(dest)
    except zipfile.BadZipFile as e:
        raise DownloadError(f"Corrupted archive {archive.name} ({e}); nothing installed") from None
    # archives usually hold one top folder (<name>-<release>/): use its content
    entries = [p for p in dest.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir():
        inner = entries[0]
        tmp = dest.with_name(dest.name + ".inner")
        os.replace(inner, tmp)
        shutil.rmtree(dest)
        os.replace(tmp, dest)


def _download(name: str, urls, folder: Path) -> Path:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util import Retry

    from spinalcordtoolbox.utils.cli import progress_bar

    if os.environ.get("SCT_OFFLINE") == "1":
        raise DownloadError(f"Cannot download {name}: SCT_OFFLINE=1; set {MIRROR_ENV}=<folder> to a "
                            f"local copy of the data")
    # urllib3 logs every retry as a warning: the one error below says what failed
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    errors = []
    for url in urls:
        target = folder / f"{name}.zip"
        try:
            session = requests.Session()
            retry = Retry(total=3, backoff_factor=0.5, status_forcelist=[429, 500, 502, 503, 504])
            session.mount("https://", HTTPAdapter(max_retries=retry))
            session.mount("http://", HTTPAdapter(max_retries=retry))
            logger.info("Downloading %s from %s", name, url)
            with session.get(url, stream=True, timeout=30) as response:
                response.raise_for_status()
                total = int(response.headers.get("content-length", 0)) or None
                with open(target, "wb") as f, progress_bar(total=total, desc=name, unit="B") as bar:
                    for block in response.iter_content(chunk_size=1 << 16):
                        f.write(block)
                        bar.update(len(block))
            return target
        except Exception as e:
            errors.append(f"{url}: {e.__class__.__name__}")
            logger.info("Download from %s failed (%s); trying the next mirror", url, e)
    raise DownloadError(
        f"Could not download {name} ({'; '.join(errors)}). If this machine is offline, set "
        f"{MIRROR_ENV}=<folder> to a local copy of the data, or run 'sct_download_data -d {name}' "
        f"on a connected machine")


def list_assets() -> str:
    rows = [f"{'NAME':<28}{'TYPE':<12}{'INSTALLED':<10}URL"]
    for name, info in sorted(registry().items(), key=lambda kv: (kv[1]["type"], kv[0].lower())):
        rows.append(f"{name:<28}{info['type']:<12}{'yes' if is_installed(name) else 'no':<10}{info['urls'][0]}")
    return "\n".join(rows)


# ------------------------------------------------------------------ test data
#: data folder beside the checkout (CI, shared machines); $SCT_SHARED_DATA overrides it
SHARED_DATA = Path(os.environ.get("SCT_SHARED_DATA") or REPO_DIR.parent / "shared" / "data")


def find_data(name: str) -> Path:
    """Locate an asset for tests and examples: env var mirror, then ../shared/data, then download.

    Read-only use: the folder returned may be the mirror itself (no copy is made).
    """
    info = asset_info(name)
    rel = info.get("mirror_path", name)
    for root in mirror_folders() + [SHARED_DATA]:
        if (root / rel).is_dir():
            return root / rel
    try:
        return locate(name, install=True)
    except DownloadError as e:
        raise DownloadError(missing_data_message(name)) from e


def missing_data_message(name: str) -> str:
    """One line telling a user without the data what to do (download it or point to a mirror)."""
    return (f"{name} is not installed and could not be downloaded (offline?): run "
            f"'sct_download_data -d {name}' on a connected machine, or set {MIRROR_ENV}=<folder> "
            f"to a local copy of the data")
