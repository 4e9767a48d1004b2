"""``-config`` files of sct_run_batch: YAML or JSON whose keys are the command's flag names.

The course's ``config.yml`` (``path_data: data``, ``path_output: output``, ``jobs: 3`` …) works
unchanged; keys may also be written as on the command line (``path-data``, ``-path-data``).
Precedence: a flag typed on the command line > the config file > the built-in default. For that,
the parser declares every option with a ``None`` default and :data:`DEFAULTS` is applied last.
"""
from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path

from spinalcordtoolbox.utils.cli import SCTError

DEFAULTS = {
    "jobs": 1, "itk_threads": 1, "subject_prefix": "sub-", "path_output": "./output",
    "batch_log": "sct_run_batch_log.txt", "script_args": "", "continue_on_error": 1,
    "zip": False, "ignore_ses": False, "resume": False, "backend": "local",
    "slurm_cores": 1, "slurm_memory": "4GB", "slurm_walltime": "01:00:00",
}


def read_config(path) -> dict:
    """The config file as a dict (``.json`` read as JSON, anything else as YAML)."""
    path = Path(path)
    if not path.is_file():
        raise SCTError(f"Config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as e:
        raise SCTError(f"Cannot read config file {path}: {str(e).splitlines()[0]}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SCTError(f"Config file {path} must hold 'key: value' pairs (flag names as keys)")
    return data


def _convert(action, key, value):
    def one(v):
        if action.type is None or not isinstance(v, str):
            return v
        try:
            return action.type(v)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
            raise SCTError(f"Config key '{key}': {e}")
    if action.nargs in ("+", "*"):
        items = value if isinstance(value, (list, tuple)) else str(value).split()
        return [one(v) for v in items]
    if isinstance(value, (list, tuple)):
        raise SCTError(f"Config key '{key}' takes one value, got a list")
    if isinstance(action, argparse._StoreTrueAction):
        return bool(value)
    value = one(value)
    if action.choices is not None and value not in action.choices:
        raise SCTError(f"Config key '{key}': {value!r} is not one of {list(action.choices)}")
    return value


def resolve_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Fill the options not typed on the command line from ``args.config``, then from DEFAULTS.

    Unknown config keys are errors (with a 'did you mean'), so a typo never passes silently.
    """
    actions = {a.dest: a for a in parser._actions if a.dest not in ("help", "config")}
    config = read_config(args.config) if getattr(args, "config", None) else {}
    for key, value in config.items():
        dest = str(key).lstrip("-").replace("-", "_")
        if dest not in actions:
            close = difflib.get_close_matches(dest, list(actions), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise SCTError(f"Unknown key '{key}' in config file {args.config}.{hint}")
        if getattr(args, dest) is None:
            setattr(args, dest, _convert(actions[dest], key, value))
    for dest, value in DEFAULTS.items():
        if getattr(args, dest, None) is None:
            setattr(args, dest, value)
    return args
