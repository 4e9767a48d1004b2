"""sct_dmri_concat_b0_and_dwi: concatenate b=0 and diffusion-weighted series with their gradients."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Concatenate b=0 and diffusion-weighted (DW) images (3-D or 4-D) along time into "
                    "one series, and write the matching bvecs and bvals: b=0 volumes get a zero "
                    "direction and b = 0, DW volumes take the entries of -bvec/-bval in turn.")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, nargs="+", required=True,
                   help="Images in the order of concatenation, e.g. -i b0.nii.gz dwi.nii.gz")
    m.add_argument("-bvec", metavar="<file>", type=input_file, required=True,
                   help="b-vectors of the DW volumes only, in order.")
    m.add_argument("-order", metavar="<str>", nargs="+", required=True,
                   help="b0 or dwi for each image of -i, e.g. -order b0 dwi")
    m.add_argument("-o", metavar="<file>", required=True, help="Output 4-D image.")
    o = parser.optional
    o.add_argument("-bval", metavar="<file>", type=input_file, help="b-values of the DW volumes only.")
    o.add_argument("-obvec", metavar="<file>", default="bvecs_concat.txt",
                   help="Output b-vectors (FSL layout). Default: bvecs_concat.txt")
    o.add_argument("-obval", metavar="<file>", default="bvals_concat.txt",
                   help="Output b-values (with -bval). Default: bvals_concat.txt")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.dmri.gradients import read_bvals, read_bvecs, write_bvals, write_bvecs
    from spinalcordtoolbox.dmri.separate import concat_b0_dwi
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.utils.fs import check_not_input

    outs = [args.o, args.obvec] + ([args.obval] if args.bval else [])
    for p in outs:
        check_not_input(p)
    im, bvecs, bvals = concat_b0_dwi([Image(p) for p in args.i], args.order, read_bvecs(args.bvec),
                                     read_bvals(args.bval) if args.bval else None, names=args.i)
    im.save(args.o)
    write_bvecs(args.obvec, bvecs)
    if bvals is not None:
        write_bvals(args.obval, bvals)
    print(f"{im.data.shape[3]} volumes; gradients in {', '.join(outs[1:])}")
    display_viewer_syntax([args.o], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
