"""Every declared command: `-h` fits 100 columns and exits 0; start-up imports no heavy library.

One fresh interpreter per command imports the script module, builds its parser, records
which heavy libraries got imported, then runs ``main(["-h"])``. Commands whose module does
not exist yet are skipped at collection (they are covered as soon as they appear).
"""
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "ants", "dipy", "matplotlib", "nnunetv2", "skimage", "pandas")

PROBE = r"""
import contextlib, importlib, io, json, sys
name, module = sys.argv[1], sys.argv[2]
sys.argv = [name]
mod = importlib.import_module(module)
mod.get_parser()
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        mod.main(["-h"])
        code = 0
    except SystemExit as e:
        code = e.code
print(json.dumps({{"heavy": heavy, "code": code, "help": out.getvalue(), "err": err.getvalue()}}))
""".format(heavy=HEAVY)


def _commands():
    with open(REPO / "pyproject.toml", "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    found = []
    for name, target in sorted(scripts.items()):
        module = target.split(":")[0]
        if (REPO / (module.replace(".", "/") + ".py")).is_file():
            found.append((name, module))
    return found


COMMANDS = _commands()


def test_commands_are_found():
    names = [n for n, _ in COMMANDS]
    assert "sct_image" in names and "sct_maths" in names and len(names) >= 13


@pytest.mark.parametrize("name,module", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_help_and_light_startup(name, module):
    proc = subprocess.run([sys.executable, "-c", PROBE, name, module], capture_output=True, text=True,
                          cwd=REPO, timeout=120, env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["heavy"] == [], f"{name}: importing the script and building its parser imports {res['heavy']}"
    assert res["code"] in (0, None), f"{name} -h exited {res['code']}: {res['err'][-500:]}"
    lines = res["help"].splitlines()
    assert len(lines) > 3 and lines[0].startswith("usage:")
    too_long = [line for line in lines if len(line) > 100]
    assert not too_long, f"{name} -h has lines over 100 columns: {too_long[:3]}"
