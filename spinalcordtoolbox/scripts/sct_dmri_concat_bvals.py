"""sct_dmri_concat_bvals: concatenate b-value files."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(description="Concatenate b-value files (one row or one column each) "
                                           "into one row, in the order given.")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, nargs="+", required=True,
                                  help="b-value files, e.g. -i bvals1.txt bvals2.txt")
    parser.optional.add_argument("-o", metavar="<file>", default="bvals_concat.txt",
                                 help="Output file. Default: bvals_concat.txt")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.dmri.gradients import concat_bvals, write_bvals

    bvals = concat_bvals(args.i)
    write_bvals(args.o, bvals)
    print(f"{len(bvals)} b-values")
    display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
