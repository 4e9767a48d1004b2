"""sct_dmri_display_bvecs: picture of the diffusion directions on the sphere."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(description="Draw the diffusion directions of a b-vector file on the unit "
                                           "sphere (3-D view and the X-Y, X-Z, Y-Z projections, with "
                                           "their antipodes) and save it as a PNG.")
    parser.mandatory.add_argument("-bvec", metavar="<file>", type=input_file, required=True,
                                  help="b-vector file (FSL 3-row layout or one row of 3 per volume).")
    parser.optional.add_argument("-bval", metavar="<file>", type=input_file,
                                 help="b-values, to leave out b=0 volumes whose direction is not zero.")
    parser.optional.add_argument("-o", metavar="<file>", default="bvecs.png",
                                 help="Output PNG. Default: bvecs.png")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.dmri.gradients import check_count, plot_bvecs, read_bvals, read_bvecs

    bvecs = read_bvecs(args.bvec)
    bvals = read_bvals(args.bval) if args.bval else None
    if bvals is not None:
        check_count(len(bvecs), bvals, "bvals", args.bval, against="the bvecs file has")
    plot_bvecs(bvecs, args.o, bvals)
    display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
