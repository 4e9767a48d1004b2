"""sct_version: print the toolbox version."""
from spinalcordtoolbox import __version__
from spinalcordtoolbox.utils.cli import SCTArgumentParser, run_command


def get_parser():
    parser = SCTArgumentParser(description="Print the version of the Spinal Cord Toolbox.", allow_no_args=True)
    parser.add_common_args()
    return parser


def main(argv=None):
    return run_command(get_parser(), lambda args: print(__version__), argv)


if __name__ == "__main__":
    main()
