"""The one command-line framework of the toolbox.

Every ``sct_*`` command builds an :class:`SCTArgumentParser`, declares its arguments in the
``mandatory`` / ``optional`` groups, and hands its work function to :func:`run_command`, which
parses, sets the log level from ``-v``, turns any exception into a one-line error on stderr
with exit code 1 (argparse usage errors exit 2), and shows a traceback only with ``-v 2``.

This module must stay light: it is imported by ``sct_x -h``.
"""
from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
import textwrap

from spinalcordtoolbox.utils.fs import clear_registered_inputs, register_input

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
        prog = kwargs.pop("prog", None) or _prog_name()
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
        return super().parse_known_args(args, namespace)

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

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _prog_name():
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
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a '{delimiter}'-separated list of "
                                             f"{subtype.__name__}, got '{text}'")
    return parse


def choice_error(name, value, allowed) -> SCTError:
    """An error listing allowed values, with a 'did you mean' suggestion."""
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


def set_loglevel(verbose: int):
    level = {0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}.get(verbose, logging.INFO)
    root = logging.getLogger()
    if not any(getattr(h, "_sct", False) for h in root.handlers):
        handler = _CurrentStdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._sct = True
        root.addHandler(handler)
    root.setLevel(level)
    os.environ["SCT_VERBOSE"] = str(verbose)


def run_command(parser: argparse.ArgumentParser, func, argv=None) -> int:
    """Parse ``argv``, run ``func(args)``, and report errors as the toolbox does."""
    clear_registered_inputs()
    args = parser.parse_args(argv)
    verbose = getattr(args, "v", 1)
    set_loglevel(verbose)
    try:
        func(args)
    except KeyboardInterrupt:
        sys.stderr.write("ERROR: interrupted\n")
        sys.exit(130)
    except Exception as e:  # every failure becomes one clear line
        if verbose >= 2:
            import traceback
            traceback.print_exc()
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, FileNotFoundError) and e.filename and e.filename not in msg:
            msg = f"{msg}: {e.filename}"
        sys.stderr.write(f"ERROR: {msg}\n")
        sys.exit(1)
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
