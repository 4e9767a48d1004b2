"""sct_compute_mtr: magnetization transfer ratio (MTR) from images without and with MT pulse."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the magnetization transfer ratio MTR = 100 (mt0 - mt1) / mt0, in percent. "
                    "Both images must be on the same grid (register mt0 to mt1 first). Voxels where "
                    "mt0 = 0 (undefined ratio) or an input is NaN/Inf are set to NaN; the other values "
                    "are clipped to [-thr, thr].")
    m = parser.mandatory
    m.add_argument("-mt0", metavar="<file>", type=input_file, required=True,
                   help="Image without MT pulse (MT0). Example: mt0_reg.nii.gz")
    m.add_argument("-mt1", metavar="<file>", type=input_file, required=True,
                   help="Image with MT pulse (MT1). Example: mt1.nii.gz")
    o = parser.optional
    o.add_argument("-thr", metavar="<float>", type=float, default=100.0,
                   help="Clip MTR values to [-thr, thr] (division by small numbers). Default: 100")
    o.add_argument("-o", metavar="<file>", default="mtr.nii.gz",
                   help="Output MTR image. Default: mtr.nii.gz")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics.qmri import compute_mtr
    from spinalcordtoolbox.utils.fs import check_not_input

    check_not_input(args.o)
    compute_mtr(Image(args.mt0), Image(args.mt1), threshold=args.thr).save(args.o)
    display_viewer_syntax([args.mt0, args.o], colormaps=[None, "hot"], opacities=[None, 0.5], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite="keep")


if __name__ == "__main__":
    main()
