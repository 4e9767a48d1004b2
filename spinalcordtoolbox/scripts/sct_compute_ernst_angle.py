"""sct_compute_ernst_angle: flip angle maximising the signal of a spoiled gradient echo."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the Ernst angle, arccos(exp(-TR/T1)), the flip angle that maximises the "
                    "signal of a spoiled gradient echo. T1 at 3 T (Wansapura et al., JMRI 1999): white "
                    "matter 832 ms, gray matter 1331 ms.")
    parser.mandatory.add_argument("-tr", metavar="<float>", type=float, required=True,
                                  help="TR [ms]. Example: 2000")
    o = parser.optional
    o.add_argument("-t1", metavar="<float>", type=float, default=832.0,
                   help="T1 [ms]. Default: 832 (white matter at 3 T)")
    o.add_argument("-b", metavar="<float>", type=float, nargs=2, default=[500.0, 3500.0],
                   help="TR range [ms] of the curve drawn with -v 2. Default: 500 3500")
    o.add_argument("-o", metavar="<file>", default="ernst_angle.txt",
                   help="Text file with the angle [deg]. Default: ernst_angle.txt")
    o.add_argument("-ofig", metavar="<file>", default="ernst_angle.png",
                   help="Figure of the angle against TR, written with -v 2. Default: ernst_angle.png")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.metrics.qmri import ernst_angle, plot_ernst_angle
    from spinalcordtoolbox.utils.fs import atomic_write_text, check_not_input

    check_not_input(args.o)
    angle = ernst_angle(args.tr, args.t1)
    if args.v:
        print(f"Ernst angle with T1 = {args.t1} ms and TR = {args.tr} ms: {angle} deg")
    atomic_write_text(args.o, str(angle))
    if args.v == 2:
        check_not_input(args.ofig)
        plot_ernst_angle(args.t1, args.tr, args.b[0], args.b[1], args.ofig)
        display_open(args.ofig, "Saved")
    display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
