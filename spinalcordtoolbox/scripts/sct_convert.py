"""sct_convert: convert between .nii and .nii.gz (and drop trailing singleton dimensions)."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(description="Convert a NIfTI image (.nii <-> .nii.gz). Data, dtype and "
                                           "geometry are kept (NaN/Inf included).")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file, help="Input image.")
    parser.mandatory.add_argument("-o", metavar="<file>", required=True, help="Output image (.nii or .nii.gz).")
    parser.optional.add_argument("-squeeze", type=int, choices=(0, 1), default=1,
                                 help="Remove trailing singleton dimensions (e.g. 3-D stored as 4-D). "
                                      "Default: 1")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.processing.image_tools import squeeze

    img = Image(args.i)
    if args.squeeze:
        img = squeeze(img)
    img.save(args.o)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite="keep")


if __name__ == "__main__":
    sys.exit(main())
