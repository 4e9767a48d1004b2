"""sct_dmri_separate_b0_and_dwi: split a diffusion series into b=0 and diffusion-weighted volumes."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Separate the b=0 and the diffusion-weighted (DW) volumes of a 4-D diffusion "
                    "series and average each set. Writes <input>_b0, <input>_dwi and, with -a 1, "
                    "<input>_b0_mean and <input>_dwi_mean. b=0 volumes are those with a zero "
                    "direction in -bvec, or with -bval those with b <= -bvalmin.")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True, help="4-D diffusion image.")
    m.add_argument("-bvec", metavar="<file>", type=input_file, required=True,
                   help="b-vectors: FSL layout (3 rows) or one row of 3 values per volume.")
    o = parser.optional
    o.add_argument("-bval", metavar="<file>", type=input_file,
                   help="b-values (one per volume); then b=0 volumes are those with b <= -bvalmin.")
    o.add_argument("-bvalmin", metavar="<float>", type=float,
                   help="b-value (s/mm2) at or below which a volume counts as b=0 (with -bval). "
                        "Default: 0")
    o.add_argument("-a", metavar="<int>", type=int, choices=[0, 1], default=1,
                   help="Also write the means of the b=0 and DW volumes. Default: 1")
    o.add_argument("-ofolder", metavar="<folder>", default=".", help="Output folder. Default: .")
    parser.add_common_args(remove_temp=True)
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.dmri.gradients import read_bvals, read_bvecs
    from spinalcordtoolbox.dmri.separate import separate_b0_dwi
    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.bvalmin is not None and not args.bval:
        raise ValueError("-bvalmin needs the b-values (-bval)")
    bvecs = read_bvecs(args.bvec)
    bvals = read_bvals(args.bval) if args.bval else None
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
