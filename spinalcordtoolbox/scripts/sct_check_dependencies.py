"""sct_check_dependencies: report Python, package versions, compute device and installed data."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Check that the toolbox's dependencies, compute device, data and models are "
                    "installed. Exits with a non-zero code when something required is missing.",
        allow_no_args=True)
    parser.optional.add_argument("-short", action="store_true", help="Only print problems.")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.system import check_dependencies

    report, ok = check_dependencies()
    for line in report:
        if not args.short or not line.startswith("[OK]"):
            print(line)
    if not ok:
        raise RuntimeError("Some required dependencies are missing (see [FAIL] lines above)")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
