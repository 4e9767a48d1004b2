"""Flags every command accepts as the established toolbox's do: ``-r 0|1`` and ``-v`` (also bare),
and a call without any argument prints the usage and exits 2."""
import contextlib
import importlib
import io
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _modules():
    with open(REPO / "pyproject.toml", "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    return sorted((name, target.split(":")[0]) for name, target in scripts.items()
                  if (REPO / (target.split(":")[0].replace(".", "/") + ".py")).is_file())


MODULES = _modules()


def _call(func, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = func(argv)
        except SystemExit as e:
            code = e.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name,module", MODULES, ids=[n for n, _ in MODULES])
def test_r_and_v_accepted_and_no_argument_prints_usage(name, module):
    mod = importlib.import_module(module)
    parser = mod.get_parser()
    for argv in (["-r", "0", "-v", "2"], ["-r", "1", "-v"]):
        if parser.allow_no_args:
            args = parser.parse_args(argv)
        else:
            code, _, err = _call(parser.parse_args, argv)
            # the only complaint allowed is about the command's own mandatory arguments
            assert "unrecognized arguments" not in err and "argument -r" not in err and "argument -v" not in err
            continue
        assert args.r in (0, 1) and args.v in (1, 2)
    if not parser.allow_no_args:
        code, out, _ = _call(mod.main, [])
        assert code == 2 and out.startswith("usage: ")
