"""Command-line options shared by the pretrained-network commands (-device, -centerline).

Light module (no torch): imported by the scripts' parsers.
"""
from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")
CENTERLINE_METHODS = ("cnn", "viewer", "file")


def add_device_arg(group):
    group.add_argument("-device", metavar="<str>", default="auto",
                       help="Where to run the networks: auto (GPU if available), cpu, cuda (or cuda:N). "
                            "Default: auto")


def add_centerline_args(group, file_help: str):
    group.add_argument("-centerline", metavar="<str>", default="cnn",
                       help="How to find the centerline: cnn (network), viewer (manual; not available "
                            "in this version), file (-file_centerline). Default: cnn")
    from spinalcordtoolbox.utils.cli import input_file
    group.add_argument("-file_centerline", metavar="<file>", type=input_file, help=file_help)


def check_device(device: str):
    from spinalcordtoolbox.utils.cli import choice_error

    if device not in DEVICES and not device.startswith("cuda:"):
        raise choice_error("device", device, DEVICES)


def check_centerline_args(args):
    """Validate -centerline / -file_centerline before any computation."""
    from spinalcordtoolbox.utils.cli import choice_error

    if args.centerline not in CENTERLINE_METHODS:
        raise choice_error("centerline method", args.centerline, CENTERLINE_METHODS)
    if args.centerline == "viewer":
        raise ValueError("-centerline viewer (manual labelling) is not available in this version: "
                         "use -centerline cnn, or -centerline file with a mask made in any viewer")
    if args.centerline == "file" and not args.file_centerline:
        raise ValueError("-centerline file needs -file_centerline <mask>")
