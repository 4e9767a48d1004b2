"""The one command-line framework of the toolbox.

Every ``sct_*`` command builds an :class:`SCTArgumentParser`, declares its arguments in the
``mandatory`` / ``optional`` groups, and hands its work function to :func:`run_command`, which
parses, sets the log level from ``-v``, turns any exception into a one-line error on stderr
with exit code 1 (argparse usage errors: one line with a "did you mean" hint, exit 2), and
shows a traceback only with ``-v 2``. The command runs as an output transaction
(:func:`utils.fs.output_transaction`): when it fails, the files it wrote are removed.

Numeric flags use the argument types below (:func:`positive_float`, :func:`finite_float`...),
so that ``nan``, ``inf`` or negative values are refused where they mean nothing.

This module must stay light: it is imported by ``sct_x -h``.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import re
import signal
import sys
import textwrap

from spinalcordtoolbox.utils.fs import clear_registered_inputs, output_transaction, register_input

logger = logging.getLogger("spinalcordtoolbox")

HELP_WIDTH = 100


class SCTError(Exception):
    """An error whose message is meant for the user as is (no traceback)."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, width=HELP_WIDTH, max_help_position=32)

    def _split_lines(self, text, width):
        # keep explicit line breaks in help texts, wrap each paragraph
        lines = []
        for para in text.splitlines():
            lines.extend(textwrap.wrap(para, width) or [""])
        return lines


class SCTArgumentParser(argparse.ArgumentParser):
    """argparse parser with the toolbox's layout: MANDATORY and OPTIONAL argument groups."""

    def __init__(self, description="", epilog=None, allow_no_args=False, **kwargs):
        prog = kwargs.pop("prog", None) or _prog_name(sys._getframe(1).f_globals.get("__name__", ""))
        #: False: a call without any argument prints the help and exits 2 (as the established
        #: toolbox); True for commands whose plain call does something (sct_version...)
        self.allow_no_args = allow_no_args
        # "resolve": a command that declares its own -r/-v after add_common_args keeps its own
        kwargs.setdefault("conflict_handler", "resolve")
        super().__init__(prog=prog, description=_wrap(description), epilog=_wrap(epilog) if epilog else None,
                         formatter_class=_Formatter, add_help=False, **kwargs)
        self.mandatory = self.add_argument_group("MANDATORY ARGUMENTS")
        self.optional = self.add_argument_group("OPTIONAL ARGUMENTS")
        self.optional.add_argument("-h", "--help", action="help", help="Show this help message and exit.")

    def add_common_args(self, group=None, remove_temp=False):
        """``-v`` and ``-r``, accepted by every command (published scripts pass ``-r 0`` to any
        command). ``remove_temp``: the command does use temporary files."""
        group = group or self.optional
        if "-v" not in self._option_string_actions:
            group.add_argument("-v", metavar="<int>", type=int, choices=[0, 1, 2], default=1, nargs="?",
                               const=1, help="Verbosity. 0: errors and warnings only, 1: normal, 2: debug "
                                             "(shows tracebacks). Default: 1")
        if "-r" in self._option_string_actions:
            return group
        group.add_argument("-r", metavar="<int>", type=int, choices=[0, 1], default=1,
                           help="Remove temporary files. Default: 1" if remove_temp else
                           "Remove temporary files (accepted for compatibility: this command "
                           "keeps none). Default: 1")
        return group

    def _ensure_common_args(self):
        """Commands that declared their own -v/-r keep them; the others get the standard ones."""
        if "-v" not in self._option_string_actions or "-r" not in self._option_string_actions:
            self.add_common_args()

    def parse_known_args(self, args=None, namespace=None):
        self._ensure_common_args()
        if args is None:
            args = sys.argv[1:]
        if not list(args) and not self.allow_no_args:
            self.print_help()
            self.exit(2)
        self._raw_args = list(args)
        args, extras = super().parse_known_args(args, namespace)
        self._check_outputs(args)
        return args, extras

    def add_qc_args(self, group=None, seg=False):
        """``-qc`` folder and its companions, identical in every command."""
        group = group or self.optional
        group.add_argument("-qc", metavar="<folder>",
                           help="Folder of the HTML quality-control report to add an entry to.")
        group.add_argument("-qc-dataset", metavar="<str>",
                           help="Dataset name shown in the QC report (default: from the path).")
        group.add_argument("-qc-subject", metavar="<str>",
                           help="Subject name shown in the QC report (default: from the path).")
        if seg:
            group.add_argument("-qc-seg", metavar="<file>", type=input_file,
                               help="Segmentation used to centre the QC mosaic.")
        return group

    def _check_outputs(self, args):
        """Output flags (``-o*`` naming a <file> or <folder>, ``-qc``) must be writable: a read-only
        or misspelt output location is refused before any work, not after it."""
        from spinalcordtoolbox.utils.fs import OutputError, check_writable_folder

        for action in self._actions:
            opt = next(iter(action.option_strings), "")
            value = getattr(args, action.dest, None)
            if not isinstance(value, str) or not value or not (opt.startswith("-o") or opt == "-qc"):
                continue
            if action.metavar not in ("<file>", "<folder>"):
                continue
            if action.metavar == "<file>" and hasattr(args, "ofolder") and not os.path.isabs(value):
                continue  # some commands place relative -o names inside -ofolder (checked itself)
            try:
                if action.metavar == "<file>":
                    if os.path.isdir(value):
                        raise OutputError(f"{value} is a folder: give a file name")
                    check_writable_folder(os.path.dirname(os.path.abspath(value)), "output folder")
                else:
                    check_writable_folder(value, "output folder" if opt != "-qc" else "QC folder")
            except OutputError as e:
                self.error(f"argument {opt}: {e}")

    def error(self, message):
        """One line: what is wrong, a 'did you mean' for near-miss flags; the usage only with -h.
        A misspelt flag is named before a missing required one (``-qcc`` without ``-i``): the
        misspelling is usually why the other seems missing, or the next error anyway."""
        if message.startswith("the following arguments are required"):
            unknown = self._unknown_flags()
            if unknown:
                message = "unrecognized arguments: " + " ".join(unknown)
        sys.stderr.write(f"{self.prog}: error: {message}{self._suggestion(message)} (see {self.prog} -h)\n")
        sys.exit(2)

    def _flag_names(self):
        return [o for a in self._actions for o in a.option_strings]

    def _unknown_flags(self):
        """Tokens of the command line that look like flags and name none of this parser's."""
        flags = self._flag_names()
        unknown = []
        for token in getattr(self, "_raw_args", []):
            token = str(token)
            if not token.startswith("-") or token == "-" or token == "--":
                continue
            try:
                float(token)  # a negative number is a value, not a flag
                continue
            except ValueError:
                pass
            name = token.split("=", 1)[0]
            if name in flags or (self.allow_abbrev and any(f.startswith(name) for f in flags)):
                continue
            unknown.append(token)
        return unknown

    def _suggestion(self, message):
        m = re.match(r"unrecognized arguments: (.*)", message)
        if not m:
            return ""
        import difflib

        flags = self._flag_names()
        unknown = [t for t in m.group(1).split() if t.startswith("-")]
        close = {t: difflib.get_close_matches(t, flags, n=1, cutoff=0.6) for t in unknown}
        hints = [f"did you mean `{c[0]}`" + (f" for `{t}`" if len(unknown) > 1 else "") + "?"
                 for t, c in close.items() if c]
        return ("; " + "; ".join(hints)) if hints else ""


def _prog_name(module=""):
    """The command's name: from the script module that builds the parser (also right when the
    command runs in-process, e.g. under pytest), else from the program that runs."""
    if module.startswith("spinalcordtoolbox.scripts.sct_"):
        return module.rsplit(".", 1)[1]
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "sct"
    return name[:-3] if name.endswith(".py") else name


def _wrap(text):
    if not text:
        return text
    paras = textwrap.dedent(text).strip().split("\n\n")
    return "\n\n".join(textwrap.fill(" ".join(p.split()), HELP_WIDTH) if not p.startswith("  ") else p
                       for p in paras)


# ------------------------------------------------------------------ argument types
def input_file(path: str) -> str:
    """argparse type: an existing file, protected from being overwritten by the command."""
    if not os.path.isfile(path):
        raise argparse.ArgumentTypeError(f"file not found: {path}")
    return register_input(path)


def input_folder(path: str) -> str:
    if not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"folder not found: {path}")
    return path


def list_type(delimiter=",", subtype=str):
    """argparse type: ``"1,2,3"`` -> [1, 2, 3]."""
    def parse(text):
        try:
            return [subtype(t) for t in text.split(delimiter) if t != ""]
        except argparse.ArgumentTypeError as e:
            raise argparse.ArgumentTypeError(f"in '{text}': {e}") from None
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a '{delimiter}'-separated list of "
                                             f"{getattr(subtype, '__name__', 'value')}, got '{text}'")
    return parse


def _number(text, kind=float):
    try:
        return kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None


def finite_float(text) -> float:
    """argparse type: a float that is not nan/inf."""
    value = _number(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got '{text}'")
    return value


def positive_float(text) -> float:
    """argparse type: a finite float > 0 (sizes, distances, thresholds of extent...)."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got '{text}'")
    return value


def nonnegative_float(text) -> float:
    """argparse type: a finite float >= 0 (smoothing sigmas, margins...)."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got '{text}'")
    return value


def positive_int(text) -> int:
    """argparse type: an integer > 0."""
    value = _number(text, int)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected an integer > 0, got '{text}'")
    return value


def nonnegative_int(text) -> int:
    """argparse type: an integer >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got '{text}'")
    return value


def float_in_range(low, high):
    """argparse type: a float in [low, high] (e.g. probabilities, thresholds)."""
    def parse(text):
        value = finite_float(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a number in [{low:g}, {high:g}], got '{text}'")
        return value
    return parse


def finite_list(delimiter=",", subtype=float):
    """argparse type: a list of finite numbers (``"1,2,nan"`` is refused)."""
    parse_list = list_type(delimiter, subtype)

    def parse(text):
        values = parse_list(text)
        if any(not math.isfinite(v) for v in values):
            raise argparse.ArgumentTypeError(f"expected finite numbers, got '{text}'")
        return values
    return parse


def refuse_together(args, *flags):
    """Raise an SCTError when more than one of ``flags`` (e.g. "-vertfile", "-discfile") is given."""
    given = [f for f in flags if getattr(args, f.lstrip("-").replace("-", "_"), None) not in (None, False)]
    if len(given) > 1:
        raise SCTError(f"{' and '.join(given)} cannot be used together: choose one")


def choice_error(name, value, allowed) -> SCTError:
    """An error listing allowed values, with a 'did you mean' suggestion."""
    import difflib

    allowed = list(allowed)
    close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return SCTError(f"Unknown {name} '{value}'.{hint} Allowed: {', '.join(map(str, allowed))}")


# ------------------------------------------------------------------ running
class _CurrentStdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time of the message.

    Commands called in-process (tests, notebooks) may swap ``sys.stdout`` between calls; a
    handler bound to the first stream would write to a closed file afterwards.
    """

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass

    def emit(self, record):
        # a message written while a progress bar is drawn would land on the bar's line: the bars
        # are cleared, the message written, and the bars redrawn below it
        tqdm_module = sys.modules.get("tqdm")
        if tqdm_module is not None and getattr(tqdm_module.tqdm, "_instances", None):
            with tqdm_module.tqdm.external_write_mode(file=sys.stdout):
                super().emit(record)
        else:
            super().emit(record)


def _third_party_quiet(record: logging.LogRecord) -> bool:
    """Libraries' info messages ("NumExpr defaulting to 2 threads", "generated new fontManager")
    are noise for the user: only the toolbox's own loggers speak below WARNING, unless -v 2."""
    if record.levelno >= logging.WARNING or os.environ.get("SCT_VERBOSE") == "2":
        return True
    return record.name.startswith(("spinalcordtoolbox", "__main__", "sct_")) or record.name == "root"


def set_loglevel(verbose: int):
    level = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}.get(verbose, logging.INFO)
    root = logging.getLogger()
    if not any(getattr(h, "_sct", False) for h in root.handlers):
        handler = _CurrentStdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.addFilter(_third_party_quiet)
        handler._sct = True
        root.addHandler(handler)
    root.setLevel(level)
    os.environ["SCT_VERBOSE"] = str(verbose)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that the command's partial outputs are removed."""


_COMMAND_PID = []


def _raise_terminated(signum, frame):
    if _COMMAND_PID and os.getpid() != _COMMAND_PID[-1]:
        # a forked worker (multiprocessing, data loaders) inherited the handler: die as usual
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise _Terminated()


def user_message(e: BaseException) -> str:
    """A sentence about the user's input for the common library exceptions (numpy, nibabel, OS)."""
    import errno

    text = str(e).strip()
    first = text.splitlines()[0] if text else ""
    name = type(e).__name__
    filename = getattr(e, "filename", None)
    if isinstance(e, SCTError):
        return first or name
    if isinstance(e, MemoryError):
        return "Not enough memory for this operation: use a smaller image (crop it, or resample it)"
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return f"No space left on the disk while writing{' ' + filename if filename else ''}: free some space"
    if isinstance(e, PermissionError):
        return f"Permission denied: {filename or first}: check that you can read the inputs and write the output folder"
    if isinstance(e, IsADirectoryError):
        return f"Expected a file but got a folder: {filename or first}"
    if isinstance(e, NotADirectoryError):
        return f"Expected a folder but got a file: {filename or first}"
    if isinstance(e, FileNotFoundError):
        if filename and filename not in first:
            return f"{first}: {filename}" if first else f"File not found: {filename}"
        return first or "File not found"
    if name in ("ImageFileError", "HeaderDataError", "BadGzipFile", "error") or isinstance(e, EOFError):
        return f"Cannot read an input image (corrupt or not a NIfTI file): {first}"
    if "could not be broadcast" in first:
        shapes = re.findall(r"\([0-9, ]*\)", first)
        return ("The images do not have the same dimensions"
                + (f" ({' vs '.join(shapes[:2])})" if shapes else "") + ": use images on the same grid")
    if name == "LinAlgError":
        return f"A transformation in the computation cannot be inverted (degenerate affine or field): {first}"
    if isinstance(e, (ValueError, RuntimeError)) and first:
        return first
    if isinstance(e, (IndexError, KeyError, TypeError, AttributeError, AssertionError, ZeroDivisionError)):
        return (f"Unexpected internal error ({name}: {first or 'no message'}) with these inputs: "
                f"rerun with -v 2 and report it")
    return first or name


#: The running command's rule for NaN/Inf voxels in the files it was given ("refuse", "zero" or
#: "keep", see run_command), applied by the image reader; files the user did not give (templates,
#: temporary files) and images read outside a command are read as they are.
NONFINITE_RULES = ("keep", "zero", "refuse")  # from the most lenient to the strictest
_NONFINITE = {"default": None, "paths": {}, "seen": set()}


def set_nonfinite_rules(default=None, paths=None):
    """``default`` for every registered input, ``paths`` ({path: rule}) for particular ones;
    ``set_nonfinite_rules()`` clears them."""
    rules = {os.path.realpath(p): r for p, r in (paths or {}).items()}
    if any(r not in NONFINITE_RULES for r in [*rules.values(), default] if r is not None):
        raise ValueError(f"NaN/Inf rule must be one of {NONFINITE_RULES}")
    _NONFINITE.update(default=default, paths=rules, seen=set())


def nonfinite_rule(path):
    """(rule for the image file ``path`` or None, whether it is the first time it is asked)."""
    from spinalcordtoolbox.utils.fs import is_registered_input

    real = os.path.realpath(path)
    rule = _NONFINITE["paths"].get(real) or (_NONFINITE["default"] if is_registered_input(real) else None)
    first = real not in _NONFINITE["seen"]
    _NONFINITE["seen"].add(real)
    return rule, first


def _set_nonfinite_rules(parser, args, nonfinite):
    if isinstance(nonfinite, str):
        return set_nonfinite_rules(nonfinite)
    default = nonfinite.get("*", "refuse")
    paths = {}
    for action in parser._actions:
        rule = next((nonfinite[o] for o in action.option_strings if o in nonfinite), default)
        value = getattr(args, action.dest, None)
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, str) and os.path.isfile(v):  # a file given twice: the stricter rule
                paths[v] = max(rule, paths.get(v, "keep"), key=NONFINITE_RULES.index)
    set_nonfinite_rules(default, paths)


def run_command(parser: argparse.ArgumentParser, func, argv=None, transaction=True,
                nonfinite="refuse") -> int:
    """Parse ``argv``, run ``func(args)``, and report errors as the toolbox does.

    ``transaction``: outputs are removed if the command fails (False for commands whose partial
    results are the point on failure, e.g. sct_run_batch's logs of the subjects that failed).

    ``nonfinite``: the one rule for NaN/Inf voxels in the image files given to the command
    (docs/README.md, Conventions): "refuse" (default: a one-line error naming the file and the
    count), "zero" (read as 0, one warning line with the count) or "keep" (the command's help
    documents what it does with them); or {flag: rule} ("*": the other flags, default "refuse")."""
    clear_registered_inputs()
    args = parser.parse_args(argv)
    verbose = getattr(args, "v", 1)
    set_loglevel(verbose)
    _set_nonfinite_rules(parser, args, nonfinite)
    installed, old_term = False, None
    try:
        old_term = signal.signal(signal.SIGTERM, _raise_terminated)
        installed = True
        _COMMAND_PID.append(os.getpid())
    except ValueError:  # not the main thread: no signal handling
        pass
    try:
        with output_transaction() if transaction else contextlib.nullcontext():
            try:
                func(args)
                sys.stdout.flush()
            except BrokenPipeError:
                # `cmd | head`: the reader has gone; the work is done, leave quietly
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
    except KeyboardInterrupt as e:
        sys.stderr.write("ERROR: terminated\n" if isinstance(e, _Terminated) else "ERROR: interrupted\n")
        sys.exit(143 if isinstance(e, _Terminated) else 130)
    except Exception as e:  # every failure becomes one clear line
        if verbose >= 2:
            import traceback
            traceback.print_exc()
        sys.stderr.write(f"ERROR: {user_message(e)}\n")
        sys.exit(1)
    finally:
        set_nonfinite_rules()
        if installed:
            signal.signal(signal.SIGTERM, old_term if old_term is not None else signal.SIG_DFL)
            _COMMAND_PID.pop()
    return 0


def progress_bar(iterable=None, total=None, desc="", unit="it"):
    """A tqdm progress bar on stderr, hidden with ``-v 0`` and with ``SCT_PROGRESS_BAR=off`` (set by
    sct_run_batch: bars would fill the per-subject logs)."""
    from tqdm import tqdm

    disable = os.environ.get("SCT_VERBOSE") == "0" or os.environ.get("SCT_PROGRESS_BAR") == "off"
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=False,
                dynamic_ncols=True, file=sys.stderr)


def display_viewer_syntax(files, colormaps=None, opacities=None, minmax=None, verbose=1):
    """Print how to look at the result in FSLeyes and ITK-SNAP."""
    if verbose == 0 or not files:
        return
    files = [os.fspath(f) for f in files]
    colormaps = colormaps or [None] * len(files)
    opacities = opacities or [None] * len(files)
    minmax = minmax or [None] * len(files)
    fsleyes = ["fsleyes"]
    for f, cm, op, mm in zip(files, colormaps, opacities, minmax):
        fsleyes.append(f)
        if cm:
            fsleyes += ["-cm", cm]
        if mm:
            fsleyes += ["-dr", str(mm[0]), str(mm[1])]
        if op is not None:
            fsleyes += ["-a", str(float(op) * 100 if float(op) <= 1 else float(op))]
    itk = ["itksnap", "-g", files[0]]
    if len(files) > 1:
        itk += ["-s", files[1]]
    if len(files) > 2:
        itk += ["-o"] + files[2:]
    print("\nDone! To view results, type:")
    print(" ".join(fsleyes) + " &")
    print("or")
    print(" ".join(itk) + " &\n")


def display_open(path, message="Done! To view the result, open"):
    """Print how to open a non-image result (CSV, QC report...); silent with ``-v 0``."""
    if os.environ.get("SCT_VERBOSE") != "0":
        print(f"\n{message}: {path}\n")
