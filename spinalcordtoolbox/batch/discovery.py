"""Subjects and sessions of a BIDS dataset, filtered by include/exclude patterns or lists."""
from __future__ import annotations

import re
from pathlib import Path

from spinalcordtoolbox.utils.cli import SCTError


def find_subjects(path_data, subject_prefix="sub-", ignore_ses=False) -> list[str]:
    """``sub-01`` or ``sub-01/ses-01`` for every subject folder (and session folder) of the dataset.

    Sessions are ``ses-*`` folders inside a subject folder; with ``ignore_ses`` (or when a subject
    has none) the subject is one unit of work. Sorted, so runs and logs are reproducible.
    """
    path_data = Path(path_data)
    if not path_data.is_dir():
        raise SCTError(f"Data folder not found: {path_data}")
    found = []
    for sub in sorted(p for p in path_data.iterdir() if p.is_dir() and p.name.startswith(subject_prefix)):
        sessions = [] if ignore_ses else sorted(p.name for p in sub.iterdir()
                                                if p.is_dir() and p.name.startswith("ses-"))
        found.extend(f"{sub.name}/{ses}" for ses in sessions) if sessions else found.append(sub.name)
    return found


def _compile(pattern, flag):
    try:
        return re.compile(pattern)
    except re.error as e:
        raise SCTError(f"{flag}: invalid regular expression '{pattern}': {e}")


def _in_list(name, items) -> bool:
    # a list entry names a subject (all its sessions) or one subject/session
    return name in items or name.split("/")[0] in items


def filter_subjects(subjects, include=None, include_list=None, exclude=None, exclude_list=None) -> list[str]:
    """Keep subjects matching ``include`` (regex, searched anywhere in ``sub-xx[/ses-yy]``) or named
    in ``include_list``, then drop those matching ``exclude`` / named in ``exclude_list``."""
    if include and include_list:
        raise SCTError("Use either -include or -include-list, not both")
    if exclude and exclude_list:
        raise SCTError("Use either -exclude or -exclude-list, not both")
    kept = list(subjects)
    if include:
        rx = _compile(include, "-include")
        kept = [s for s in kept if rx.search(s)]
    if include_list:
        kept = [s for s in kept if _in_list(s, include_list)]
    if exclude:
        rx = _compile(exclude, "-exclude")
        kept = [s for s in kept if not rx.search(s)]
    if exclude_list:
        kept = [s for s in kept if not _in_list(s, exclude_list)]
    return kept
