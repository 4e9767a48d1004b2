"""sct_merge_images: merge several images onto one destination grid, averaging overlaps."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Merge images (e.g. label maps of several acquisitions) onto a destination grid: "
                    "each image is brought onto the grid (through its warping field if -w is given, "
                    "else through world coordinates) and overlapping values are averaged.")
    parser.mandatory.add_argument("-i", metavar="<file>", nargs="+", required=True, type=input_file,
                                  help="Images to merge.")
    parser.mandatory.add_argument("-d", metavar="<file>", required=True, type=input_file,
                                  help="Destination image (grid of the output).")
    parser.optional.add_argument("-w", metavar="<file>", nargs="+", type=input_file,
                                 help="Warping fields from each image to the destination, in the order of -i.")
    parser.optional.add_argument("-x", choices=("nn", "linear", "spline"), default="linear",
                                 help="Interpolation. Default: linear")
    parser.optional.add_argument("-o", metavar="<file>", default="merged_images.nii.gz",
                                 help="Output image. Default: merged_images.nii.gz")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.resampling import merge_images

    out = merge_images([Image(f) for f in args.i], Image(args.d), warps=args.w, interpolation=args.x)
    out.save(args.o)
    display_viewer_syntax([args.d, args.o], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite={"-w": "keep"})


if __name__ == "__main__":
    sys.exit(main())
