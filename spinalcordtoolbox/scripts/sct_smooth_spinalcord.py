"""sct_smooth_spinalcord: smooth an image along the spinal cord only."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file, list_type,
                                         run_command)

ALGOS = ("bspline", "polyfit", "linear", "nurbs")


def get_parser():
    parser = SCTArgumentParser(
        description="Smooth an image along the spinal cord: the image is straightened along the cord "
                    "centerline, smoothed with a Gaussian in the straight cord's frame (by default "
                    "only along the cord, so edges across the cord stay sharp), then brought back to "
                    "the input grid. Voxels outside the straightened field of view are unchanged.")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Image to smooth (3-D). Example: t1.nii.gz")
    parser.mandatory.add_argument("-s", metavar="<file>", type=input_file, required=True,
                                  help="Spinal cord segmentation or centerline, same grid as -i.")
    parser.optional.add_argument("-smooth", metavar="<sigma>", type=list_type(",", float), default=[0, 0, 3],
                                 help="Sigma [mm] of the Gaussian: one value (all axes) or three: "
                                      "right-left, antero-posterior, along the cord. 0: no smoothing "
                                      "along that axis. Default: 0,0,3")
    parser.optional.add_argument("-algo-fitting", metavar="<str>", default="bspline",
                                 help=f"Centerline fitting: {', '.join(ALGOS)}. Default: bspline")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output image. Default: <input>_smooth.nii.gz in the current folder.")
    parser.add_common_args(remove_temp=False)
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.processing.cord_filters import smooth_along_cord
    from spinalcordtoolbox.image import Image, add_suffix
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.algo_fitting not in ALGOS:
        raise choice_error("centerline fitting", args.algo_fitting, ALGOS)
    out_path = args.o or add_suffix(os.path.basename(args.i), "_smooth")
    check_not_input(out_path)
    out = smooth_along_cord(Image(args.i), Image(args.s), sigma_mm=args.smooth, algo=args.algo_fitting)
    out.save(out_path)
    display_viewer_syntax([args.i, out_path], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
