"""sct_dice_coefficient: Dice coefficient between two segmentations."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, SCTError, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Dice coefficient 2|A∩B|/(|A|+|B|) between two segmentations on the same grid "
                    "(voxels above 0.5 count as inside).")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file,
                                  help="First segmentation.")
    parser.mandatory.add_argument("-d", metavar="<file>", required=True, type=input_file,
                                  help="Second segmentation.")
    parser.optional.add_argument("-2d-slices", dest="slices", type=int, choices=(0, 1, 2),
                                 help="Also print the Dice of each 2-D slice along this axis.")
    parser.optional.add_argument("-o", metavar="<file>", help="Also write the result to this text file.")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics.similarity import compare_images, dice, dice_per_slice
    from spinalcordtoolbox.utils.fs import atomic_write_text

    a, b, _ = compare_images(Image(args.i), Image(args.d))
    value = dice(a, b)
    if value != value:
        raise SCTError("Both segmentations are empty: the Dice coefficient is undefined")
    lines = [f"3D Dice coefficient = {value:.6f}"]
    if args.slices is not None:
        for i, d in enumerate(dice_per_slice(a, b, args.slices)):
            lines.append(f"Slice {i}: Dice = {d:.6f}" if d == d else f"Slice {i}: empty")
    text = "\n".join(lines)
    print(text)
    if args.o:
        atomic_write_text(args.o, text + "\n")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
