#!/usr/bin/env python3
"""Codemod of issue 14 (package layout): move the domain modules out of the package root.

Run it at the repository root of any version of the code base (it needs git):

    python scripts_dev/relayout.py            # move the modules, rewrite every reference
    python scripts_dev/relayout.py --check    # change nothing; exit 1 if something is left to do

What it does, in order:
1. for each module of MOVES still at its old place: turn its relative imports into absolute ones
   (they would resolve against the new package otherwise), then ``git mv`` it; new packages get
   an ``__init__.py`` with a docstring (``git add``-ed);
2. in every text file under spinalcordtoolbox/, testing/, scripts/, scripts_dev/ (except this
   file), docs/ and the top-level README.md/pyproject.toml, rewrite the references:
   ``from spinalcordtoolbox.old import x``, ``import spinalcordtoolbox.old as y``,
   ``from spinalcordtoolbox import old[, other]`` (split in two when some names stay),
   relative imports (``from .old import x``, ``from .. import old``), dotted strings such as
   mock/monkeypatch targets ``"spinalcordtoolbox.old.f"``, and paths ``spinalcordtoolbox/old.py``;
   when a module's name changes (``sct_math`` -> ``maths``) a plain ``from ... import old``
   also renames the name ``old`` in that file (tokens only, never strings), unless the new name
   is already used there, in which case it imports ``new as old``;
3. appends the "Package layout" section to docs/README.md if it is missing.
Running it twice is a no-op: every step looks for the old form only. No compatibility shims are
left behind: there is one import path per module.
"""
from __future__ import annotations

import argparse
import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

PKG = "spinalcordtoolbox"

#: old module -> new module (dotted). Image-level processing goes to ``processing/``;
#: segmentation agreement joins the other metrics; template folders belong to registration
#: (to_template / warp_template), whose public functions labeling and metrics call.
MOVES = {
    "spinalcordtoolbox.cord_filters": "spinalcordtoolbox.processing.cord_filters",
    "spinalcordtoolbox.cropping": "spinalcordtoolbox.processing.cropping",
    "spinalcordtoolbox.image_tools": "spinalcordtoolbox.processing.image_tools",
    "spinalcordtoolbox.masks": "spinalcordtoolbox.processing.masks",
    "spinalcordtoolbox.sct_math": "spinalcordtoolbox.processing.maths",
    "spinalcordtoolbox.stitching": "spinalcordtoolbox.processing.stitching",
    "spinalcordtoolbox.metrics_similarity": "spinalcordtoolbox.metrics.similarity",
    "spinalcordtoolbox.template": "spinalcordtoolbox.registration.template",
}

#: docstrings of the packages the moves create (only written when the package is missing)
NEW_PACKAGES = {
    "spinalcordtoolbox.processing":
        '"""Image processing: voxel-wise maths, filters along the cord, masks, cropping, '
        'header/array\nmanipulations and stitching (the engines of sct_maths, '
        'sct_smooth_spinalcord, sct_create_mask,\nsct_crop_image, sct_image...)."""\n',
}

#: prose that names a moved module by its old bare name: (file after the move, old, new)
PROSE = [
    ("spinalcordtoolbox/processing/maths.py",
     "Named ``sct_math`` rather than ``math`` so that it can never shadow the standard library.",
     "Named ``maths`` rather than ``math`` so that it can never shadow the standard library."),
    ("testing/api/test_sct_math.py",
     '"""sct_math: every sct_maths', '"""processing.maths: every sct_maths'),
]

ROOTS = ("spinalcordtoolbox", "testing", "scripts", "scripts_dev", "docs")
TOP_FILES = ("README.md", "pyproject.toml")
TEXT_SUFFIXES = {".py", ".md", ".rst", ".txt", ".toml", ".cfg", ".ini", ".sh", ".yml", ".yaml"}

DOC_FILE = Path("docs") / "README.md"
DOC_TITLE = "## Package layout"


def mod_path(mod: str) -> Path:
    return Path(*mod.split(".")).with_suffix(".py")


def pkg_init(pkg: str) -> Path:
    return Path(*pkg.split(".")) / "__init__.py"


def parent(mod: str) -> str:
    return mod.rpartition(".")[0]


def base(mod: str) -> str:
    return mod.rpartition(".")[2]


def file_package(path: Path) -> str | None:
    """Package a .py file belongs to (what its relative imports resolve against)."""
    parts = path.with_suffix("").parts
    if not parts or parts[0] != PKG:
        return None
    if parts[-1] == "__init__":
        return ".".join(parts[:-1])
    return ".".join(parts[:-1])


def resolve(pkg: str | None, level: int, module: str | None) -> str | None:
    if level == 0:
        return module
    if pkg is None:
        return None
    parts = pkg.split(".")
    if level - 1 > len(parts) - 1:
        return None
    parts = parts[:len(parts) - (level - 1)]
    return ".".join(parts + ([module] if module else []))


# --------------------------------------------------------------------------- python sources
def _offsets(text: str):
    starts, pos = [], 0
    for line in text.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    starts.append(pos)
    lines = text.splitlines(keepends=True)

    def at(lineno, col_bytes):
        line = lines[lineno - 1] if lineno - 1 < len(lines) else ""
        return starts[lineno - 1] + len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))
    return at


def _names_used(text: str) -> set[str]:
    try:
        return {t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
                if t.type == tokenize.NAME}
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return set(re.findall(r"\b\w+\b", text))


def _rename_names(text: str, renames: dict[str, str]) -> str:
    """Rename NAME tokens (not attributes ``x.old``, not strings/comments); continuation lines
    aligned after a renamed token (visual indent) move with it."""
    toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    in_string = set()          # physical lines that begin inside a multi-line string
    for t in toks:
        if t.type == tokenize.STRING and t.end[0] > t.start[0]:
            in_string.update(range(t.start[0] + 1, t.end[0] + 1))
    edits = {}                 # line -> [(col, old_len, new)]
    shifts = {}                # line -> leading-space change
    prev, pending = None, []
    for t in toks:
        if t.type == tokenize.NAME and t.string in renames and not (
                prev is not None and prev.type == tokenize.OP and prev.string == "."):
            new = renames[t.string]
            edits.setdefault(t.start[0], []).append((t.start[1], len(t.string), new))
            pending.append((t.start[0], t.start[1], len(new) - len(t.string)))
        if t.type == tokenize.NEWLINE or t.type == tokenize.ENDMARKER:
            for line, col, delta in pending:
                for ln in range(line + 1, t.start[0] + 1):
                    body = lines[ln - 1]
                    ind = len(body) - len(body.lstrip(" "))
                    if ln not in in_string and ind > col and body.strip():
                        shifts[ln] = shifts.get(ln, 0) + delta
            pending = []
        if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT,
                          tokenize.DEDENT):
            prev = t
    out = []
    for ln, body in enumerate(lines, 1):
        for col, n, new in sorted(edits.get(ln, ()), reverse=True):
            body = body[:col] + new + body[col + n:]
        d = shifts.get(ln, 0)
        if d > 0:
            body = " " * d + body
        elif d < 0:
            body = body[min(-d, len(body) - len(body.lstrip(" "))):]
        out.append(body)
    return "".join(out)


FROM_PREFIX = re.compile(r"^from\s+[.\w]*\s+import\b")


def rewrite_python(text: str, path: Path, absolutize_all=False, pkg_override=None) -> str:
    """Rewrite the import statements of one Python file (see module docstring)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        print(f"  warning: {path} does not parse; only its dotted names are rewritten",
              file=sys.stderr)
        return text
    pkg = pkg_override if pkg_override is not None else file_package(path)
    at = _offsets(text)
    used = _names_used(text)
    edits, renames = [], {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        target = resolve(pkg, node.level, node.module)
        if target is None:
            continue
        s = at(node.lineno, node.col_offset)
        e = at(node.end_lineno, node.end_col_offset)
        seg = text[s:e]
        if target in MOVES or absolutize_all and node.level > 0:
            new_mod = MOVES.get(target, target)
            new_seg = FROM_PREFIX.sub(f"from {new_mod} import", seg, count=1)
            if new_seg != seg:
                edits.append((s, e, new_seg))
            continue
        moved = [a for a in node.names if f"{target}.{a.name}" in MOVES]
        if not moved:
            continue
        indent = " " * node.col_offset
        stay = [a for a in node.names if a not in moved]
        groups: dict[str, list[str]] = {}
        for a in moved:
            new = MOVES[f"{target}.{a.name}"]
            nb = base(new)
            if a.asname:
                item = f"{nb} as {a.asname}"
            elif nb == a.name:
                item = nb
            elif nb not in used or renames.get(a.name) == nb:
                item, renames[a.name] = nb, nb
            else:
                item = f"{nb} as {a.name}"
            groups.setdefault(parent(new), []).append(item)
        stmts = []
        if stay:
            src_mod = "." * node.level + (node.module or "")
            if absolutize_all and node.level > 0:
                src_mod = target
            stmts.append(f"from {src_mod} import " + ", ".join(
                a.name + (f" as {a.asname}" if a.asname else "") for a in stay))
        stmts += [f"from {p} import {', '.join(items)}" for p, items in groups.items()]
        if "#" in seg:
            print(f"  note: {path}:{node.lineno}: comments inside the import were dropped",
                  file=sys.stderr)
        edits.append((s, e, ("\n" + indent).join(stmts)))
    for s, e, new in sorted(edits, reverse=True):
        text = text[:s] + new + text[e:]
    if renames:
        text = _rename_names(text, renames)
    return text


# --------------------------------------------------------------------------- any text
_DOTTED = [(re.compile(re.escape(old) + r"(?![\w])"), new) for old, new in MOVES.items()]
_PATHS = [(re.compile(re.escape(mod_path(old).as_posix()) + r"(?![\w])"), mod_path(new).as_posix())
          for old, new in MOVES.items()]
_FROM_PKG = re.compile(r"^(\s*)from spinalcordtoolbox import ([\w, ]+?)\s*$", re.M)


def rewrite_text(text: str) -> str:
    for rx, new in _DOTTED + _PATHS:
        text = rx.sub(new, text)
    return text


def rewrite_doc(text: str) -> str:
    """Non-Python files: dotted names, paths, and one-line ``from spinalcordtoolbox import x``."""
    def split(m):
        names = [n.strip() for n in m.group(2).split(",") if n.strip()]
        if not any(f"{PKG}.{n.split(' as ')[0].strip()}" in MOVES for n in names):
            return m.group(0)
        code = "from spinalcordtoolbox import " + ", ".join(names)
        lines = rewrite_python(code, Path("doc.py")).splitlines()
        return "\n".join(m.group(1) + line for line in lines)
    return rewrite_text(_FROM_PKG.sub(split, text))


# --------------------------------------------------------------------------- doc section
def doc_section() -> str:
    # names relative to the package, so that the rewriting of step 2 leaves the table alone
    short = len(PKG) + 1
    rows = "\n".join(f"| `{old[short:]}` | `{new[short:]}` |" for old, new in MOVES.items())
    return f"""
{DOC_TITLE}

One subpackage per domain (`registration/`, `shape/`, `labeling/`, `metrics/`, `moco/`,
`dmri/`, `fmri/`, `deepseg/`, `pretrained/`, `propseg/`, `processing/`, `reports/`, `batch/`),
`scripts/sct_*.py` for argument parsing only, and at the package root only what every domain
uses: `image.py`, `download.py`, `system.py`, `utils/`, and the geometry `centerline/`,
`straightening.py`, `resampling.py`. Modules moved out of the root (issue 14; no aliases are
kept: import `spinalcordtoolbox.<new module>`):

| old module | new module |
|---|---|
{rows}
"""


# --------------------------------------------------------------------------- driver
def git(*args):
    subprocess.run(["git", *args], check=True)


def text_files(self_path: Path):
    for root in ROOTS:
        if Path(root).is_dir():
            for p in sorted(Path(root).rglob("*")):
                if (p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
                        and p.resolve() != self_path):
                    yield p
    for f in TOP_FILES:
        if Path(f).is_file():
            yield Path(f)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if work is left")
    args = ap.parse_args(argv)
    if not pkg_init(PKG).is_file():
        sys.exit(f"error: run at the repository root (no {pkg_init(PKG)} here)")
    self_path = Path(__file__).resolve()
    todo = []

    # 1. moves
    for old, new in MOVES.items():
        src, dst = mod_path(old), mod_path(new)
        if not src.exists():
            continue
        if dst.exists():
            sys.exit(f"error: both {src} and {dst} exist; merge them by hand first")
        todo.append(f"move {src} -> {dst}")
        if args.check:
            continue
        text = src.read_text()
        fixed = rewrite_python(text, src, absolutize_all=True)
        if fixed != text:
            src.write_text(fixed)
        for pkg in [parent(new)]:
            init = pkg_init(pkg)
            if not init.exists():
                init.parent.mkdir(parents=True, exist_ok=True)
                init.write_text(NEW_PACKAGES.get(pkg, f'"""{base(pkg)}."""\n'))
                git("add", str(init))
        git("mv", str(src), str(dst))

    # 2. references
    for p in text_files(self_path):
        try:
            text = p.read_text()
        except UnicodeDecodeError:
            continue
        new = rewrite_text(rewrite_python(text, p)) if p.suffix == ".py" else rewrite_doc(text)
        if new != text:
            todo.append(f"rewrite {p}")
            if not args.check:
                p.write_text(new)

    for f, old, new in PROSE:
        p = Path(f)
        if p.is_file() and old in p.read_text():
            todo.append(f"reword {p}")
            if not args.check:
                p.write_text(p.read_text().replace(old, new))

    # 3. doc section
    if DOC_FILE.is_file() and DOC_TITLE not in DOC_FILE.read_text():
        todo.append(f"append '{DOC_TITLE}' to {DOC_FILE}")
        if not args.check:
            DOC_FILE.write_text(DOC_FILE.read_text().rstrip("\n") + "\n" + doc_section())

    # leftovers a human must look at (e.g. getattr(pkg, "sct_math"), prose)
    old_names = {base(o) for o, n in MOVES.items() if base(o) != base(n)}
    rx = re.compile(r"\b(" + "|".join(map(re.escape, sorted(old_names))) + r")\b")
    for p in text_files(self_path):
        if p.suffix != ".py":
            continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            m = rx.search(line)
            if m and not args.check:
                print(f"  note: {p}:{i}: '{m.group(1)}' still appears: {line.strip()[:90]}")

    for t in todo:
        print(("would " if args.check else "") + t)
    if not todo:
        print("nothing to do: the layout is already applied")
    if args.check and todo:
        sys.exit(1)


if __name__ == "__main__":
    main()
