"""sct_dmri_concat_bvecs: concatenate b-vector files."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(description="Concatenate b-vector files (each in FSL's 3-row layout or "
                                           "one row of 3 values per volume), in the order given. The "
                                           "output is in FSL's layout.")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, nargs="+", required=True,
                                  help="b-vector files, e.g. -i bvecs1.txt bvecs2.txt")
    parser.optional.add_argument("-o", metavar="<file>", default="bvecs_concat.txt",
                                 help="Output file. Default: bvecs_concat.txt")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.dmri.gradients import concat_bvecs, write_bvecs

    bvecs = concat_bvecs(args.i)
    write_bvecs(args.o, bvecs)
    print(f"{len(bvecs)} directions")
    display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
