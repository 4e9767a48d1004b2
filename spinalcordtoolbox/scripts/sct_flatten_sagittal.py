"""sct_flatten_sagittal: put the spinal cord on the middle sagittal plane (visual aid)."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Flatten the spinal cord in the sagittal plane: each axial slice is shifted along "
                    "right-left so that the cord centre lies on the middle sagittal plane, so the whole "
                    "cord shows in one sagittal slice. A visual aid for figures: it is not a "
                    "registration and does not preserve distances.")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Input image (3-D). Example: t1.nii.gz")
    parser.mandatory.add_argument("-s", metavar="<file>", type=input_file, required=True,
                                  help="Spinal cord segmentation or centerline, same grid as -i.")
    parser.optional.add_argument("-x", choices=("nn", "linear", "spline"), default="linear",
                                 help="Interpolation of the shifted slices. Default: linear")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output image. Default: <input>_flatten.nii.gz in the current folder.")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.processing.cord_filters import flatten_sagittal
    from spinalcordtoolbox.image import Image, add_suffix
    from spinalcordtoolbox.utils.fs import check_not_input

    out_path = args.o or add_suffix(os.path.basename(args.i), "_flatten")
    check_not_input(out_path)
    order = {"nn": 0, "linear": 1, "spline": 3}[args.x]
    flatten_sagittal(Image(args.i), Image(args.s), order=order).save(out_path)
    display_viewer_syntax([args.i, out_path], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
