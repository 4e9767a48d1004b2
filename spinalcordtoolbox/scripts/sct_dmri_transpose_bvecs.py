"""sct_dmri_transpose_bvecs: switch a b-vector file between FSL's 3-row layout and N rows of 3."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(description="Transpose a b-vector file: FSL's layout (3 rows of N values) "
                                           "becomes N rows of 3 values, and the reverse.")
    parser.mandatory.add_argument("-bvec", metavar="<file>", type=input_file, required=True,
                                  help="Input b-vector file.")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output file. Default: <input>_t.txt in the current folder.")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.dmri.gradients import transpose_bvecs

    out = args.o or os.path.splitext(os.path.basename(args.bvec))[0] + "_t.txt"
    layout = transpose_bvecs(args.bvec, out)
    print("Written as " + ("3 rows (FSL layout)" if layout == "fsl" else "one row per volume"))
    display_open(out, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
