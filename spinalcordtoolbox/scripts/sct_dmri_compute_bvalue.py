"""sct_dmri_compute_bvalue: b-value of a pulsed-gradient spin-echo from its gradient timing."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, run_command


def get_parser():
    parser = SCTArgumentParser(description="Compute the b-value (s/mm2) of a pair of rectangular "
                                           "diffusion gradients (Stejskal-Tanner): "
                                           "b = (gamma G delta)^2 (Delta - delta/3).")
    m = parser.mandatory
    m.add_argument("-g", metavar="<float>", type=float, required=True,
                   help="Gradient amplitude G (mT/m).")
    m.add_argument("-b", metavar="<float>", type=float, required=True,
                   help="Big delta: separation of the two gradients Delta (ms).")
    m.add_argument("-d", metavar="<float>", type=float, required=True,
                   help="Small delta: duration of each gradient delta (ms).")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.dmri.gradients import compute_bvalue

    b = compute_bvalue(args.g, args.b, args.d)
    print(f"b-value = {b:.3f} s/mm2")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
