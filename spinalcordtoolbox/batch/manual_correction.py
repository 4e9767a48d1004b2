"""The manual-correction loop: QC failures -> corrected files in ``derivatives/labels``.

Reads the failures exported from the QC report ("Save Fails" -> ``qc_fail.yml``: a list of entries
with ``subject``, ``process``, ``file`` (the segmentation or labels shown), ``image``), or the
established mapping form (``FILES_SEG: [sub-01_T2w.nii.gz, …]``, ``FILES_GMSEG``, ``FILES_LABEL``,
listing images). For each: copies the automatic result to
``<path-label>/<sub>[/<ses>]/<datatype>/<image><suffix>-manual.nii.gz`` (unless a manual file is
already there: it is reopened), opens the image with it in FSLeyes or ITK-SNAP, waits for the viewer
to close and writes a JSON sidecar (author, date, source). sct_run_batch's PATH_SEGMANUAL points to
that folder, and the processing script uses the manual file when it exists.
"""
from __future__ import annotations

import datetime
import getpass
import hashlib
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from spinalcordtoolbox.utils.cli import SCTError
from spinalcordtoolbox.utils.fs import atomic_output, atomic_write_text

logger = logging.getLogger(__name__)

VIEWERS = ("auto", "fsleyes", "itksnap", "none")
KINDS = ("seg", "gmseg", "label")
#: established config keys -> kind
LEGACY_KEYS = {"FILES_SEG": "seg", "FILES_GMSEG": "gmseg", "FILES_LABEL": "label"}


@dataclass
class Correction:
    kind: str            # seg, gmseg or label
    image: Path          # the image the file was computed from
    source: Path         # the automatic file to start from
    dest: Path           # the manual file to write
    qc_id: str = ""


def _strip_nii(name: str) -> str:
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def _kind_of(entry: dict) -> str:
    process = str(entry.get("process", ""))
    if process in ("sct_deepseg_gm",) or "gmseg" in str(entry.get("file", "")):
        return "gmseg"
    if process in ("sct_label_utils", "sct_label_vertebrae", "sct_detect_pmj"):
        return "label"
    return "seg"


def read_fail_list(path) -> list[dict]:
    """Entries of a ``qc_fail.yml`` (either form) as dicts with ``kind`` and ``image`` [+ ``file``]."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise SCTError(f"Config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SCTError(f"Cannot read {path}: {str(e).splitlines()[0]}")
    entries = []
    if isinstance(data, dict):
        unknown = set(data) - set(LEGACY_KEYS)
        if unknown:
            raise SCTError(f"{path}: unknown keys {sorted(unknown)}; expected {sorted(LEGACY_KEYS)} or the "
                           "list saved by the QC report's 'Save Fails'")
        for key, kind in LEGACY_KEYS.items():
            entries += [{"kind": kind, "image": str(name)} for name in (data.get(key) or [])]
    elif isinstance(data, list):
        for item in data:
            if not isinstance(item, dict) or not (item.get("image") or item.get("file")):
                raise SCTError(f"{path}: each entry needs an 'image' (as saved by the QC report)")
            entries.append(dict(item, kind=_kind_of(item)))
    elif data is not None:
        raise SCTError(f"{path}: expected a list of QC entries or FILES_SEG/FILES_GMSEG/FILES_LABEL lists")
    return entries


def _find(path_img: Path, name: str) -> Path | None:
    hits = sorted(p for p in path_img.rglob(name) if p.is_file() and "derivatives" not in p.parts)
    return hits[0] if hits else None


def _bids_folder(path_img: Path, image: Path) -> Path:
    """``sub-01/anat`` (or ``sub-01/ses-01/anat``) for an image."""
    try:
        return image.parent.relative_to(path_img)
    except ValueError:
        parts = image.parent.parts
        subs = [i for i, p in enumerate(parts) if p.startswith("sub-")]
        return Path(*parts[subs[-1]:]) if subs else Path(image.parent.name)


def plan_corrections(entries, path_img, path_label, suffixes) -> list[Correction]:
    """Where each failure's image and automatic file are, and where the manual file goes."""
    path_img, path_label = Path(path_img).resolve(), Path(path_label).resolve()
    plans, seen = [], set()
    for e in entries:
        kind = e["kind"]
        image = Path(e["image"]) if e.get("image") else None
        if image is None or not image.is_file():
            name = Path(e.get("image") or e["file"]).name
            image = _find(path_img, name)
            if image is None:
                raise SCTError(f"Image {name} not found in {path_img} (-path-img: the folder holding the "
                               "processed images, e.g. <path-output>/data_processed)")
        stem = _strip_nii(image.name)
        source = Path(e["file"]) if e.get("file") else None
        if source is not None and source.resolve() == image.resolve():
            logger.warning("Skipping %s (%s): the QC entry shows no segmentation or labels to correct; "
                           "re-run that step with other parameters instead", image.name, e.get("process"))
            continue
        if source is None or not source.is_file():
            source = image.parent / f"{stem}{suffixes[kind]}.nii.gz"
            if not source.is_file():
                found = _find(path_img, source.name)
                source = found if found is not None else source
        dest = path_label / _bids_folder(path_img, image) / f"{stem}{suffixes[kind]}-manual.nii.gz"
        if dest in seen:
            continue
        seen.add(dest)
        plans.append(Correction(kind, image, source, dest, str(e.get("id", ""))))
    return plans


def choose_viewer(viewer="auto") -> str:
    if viewer not in VIEWERS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("viewer", viewer, VIEWERS)
    if viewer == "none":
        return viewer
    candidates = ("fsleyes", "itksnap") if viewer == "auto" else (viewer,)
    for name in candidates:
        if shutil.which(name):
            return name
    raise SCTError(f"No image viewer found ({' or '.join(candidates)} not on PATH): install FSLeyes "
                   "(pip install fsleyes) or ITK-SNAP, or use '-viewer none' to only copy the files to "
                   "correct into -path-label and edit them with any tool")


def viewer_command(viewer, c: Correction) -> list[str]:
    if viewer == "fsleyes":
        cmap = "random" if c.kind == "label" else "red"
        return ["fsleyes", str(c.image), str(c.dest), "-cm", cmap, "-a", "70"]
    return ["itksnap", "-g", str(c.image), "-s", str(c.dest)]


def _digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def default_author() -> str:
    try:
        out = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return getpass.getuser()


def correct(plans, viewer="auto", author=None) -> list[Path]:
    """Prepare each manual file, let the user edit it in the viewer, write its sidecar; returns the
    manual files."""
    viewer = choose_viewer(viewer)
    author = author or default_author()
    done = []
    for i, c in enumerate(plans, 1):
        if c.dest.exists():
            logger.info("[%d/%d] %s exists: opening it for further correction", i, len(plans), c.dest)
        else:
            if not c.source.is_file():
                raise SCTError(f"Automatic {c.kind} {c.source} not found for {c.image.name} "
                               "(check -path-img and the -suffix-files-* options)")
            with atomic_output(c.dest) as tmp:
                shutil.copyfile(c.source, tmp)
        before = _digest(c.dest)
        if viewer != "none":
            cmd = viewer_command(viewer, c)
            logger.info("[%d/%d] Correct the %s of %s, save it (same name), close the viewer:\n  %s",
                        i, len(plans), c.kind, c.image.name, " ".join(cmd))
            proc = subprocess.run(cmd)
            if proc.returncode != 0:
                raise SCTError(f"{viewer} exited with code {proc.returncode} on {c.dest}")
            if _digest(c.dest) == before:
                logger.warning("%s was not modified in %s", c.dest.name, viewer)
        sidecar = c.dest.with_name(_strip_nii(c.dest.name) + ".json")
        atomic_write_text(sidecar, json.dumps({
            "Author": author,
            "Date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "GeneratedBy": [{"Name": "Manual", "Description": (f"{c.kind} corrected in {viewer}" if viewer != "none"
                                                             else f"automatic {c.kind} copied for correction"),
                             "Source": str(c.source), "Image": str(c.image), "QC": c.qc_id}],
        }, indent=2) + "\n")
        done.append(c.dest)
    return done
