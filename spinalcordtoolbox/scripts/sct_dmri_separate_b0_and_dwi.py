"""sct_dmri_separate_b0_and_dwi: split a diffusion series into b=0 and diffusion-weighted volumes."""
from spinalcordtoolbox.dmri.options import add_series_args
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Separate the b=0 and the diffusion-weighted (DW) volumes of a 4-D diffusion "
                    "series and average each set. Writes <input>_b0, <input>_dwi and, with -a 1, "
                    "<input>_b0_mean and <input>_dwi_mean.")
    add_series_args(parser)
    o = parser.optional
    o.add_argument("-a", metavar="<int>", type=int, choices=[0, 1], default=1,
                   help="Also write the means of the b=0 and DW volumes. Default: 1")
    o.add_argument("-ofolder", metavar="<folder>", default=".", help="Output folder. Default: .")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.dmri.options import read_gradients
    from spinalcordtoolbox.dmri.separate import separate_b0_dwi
    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.utils.fs import check_not_input

    bvecs, bvals = read_gradients(args)
    parts = separate_b0_dwi(Image(args.i), bvecs, bvals, args.bvalmin, average=bool(args.a),
                            bvecs_path=args.bvec, bvals_path=args.bval)
    stem = split_ext(args.i)[0]
    paths = {k: os.path.join(args.ofolder, f"{stem}_{k}.nii.gz") for k in parts}
    for p in paths.values():
        check_not_input(p)
    for k, im in parts.items():
        im.save(paths[k])
    print(f"{parts['b0'].data.shape[3]} b=0 and {parts['dwi'].data.shape[3]} diffusion-weighted volumes")
    shown = [paths["b0_mean"], paths["dwi_mean"]] if args.a else [paths["b0"], paths["dwi"]]
    display_viewer_syntax(shown, verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
