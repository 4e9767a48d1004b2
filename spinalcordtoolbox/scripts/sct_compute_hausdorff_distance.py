"""sct_compute_hausdorff_distance: Hausdorff and mean surface distance between two segmentations."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Hausdorff distance and mean symmetric surface distance (mm) between two "
                    "segmentations on the same grid, in 3-D and optionally per axial slice.")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file,
                                  help="First segmentation.")
    parser.mandatory.add_argument("-d", metavar="<file>", required=True, type=input_file,
                                  help="Second segmentation.")
    parser.optional.add_argument("-per-slice", type=int, choices=(0, 1), default=0,
                                 help="Also print 2-D distances of each axial slice (RPI z). Default: 0")
    parser.optional.add_argument("-o", metavar="<file>", help="Also write the result to this text file.")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics.similarity import compare_images, hausdorff, hausdorff_per_slice
    from spinalcordtoolbox.utils.fs import atomic_write_text

    im1 = Image(args.i).change_orientation("RPI")
    im2 = Image(args.d).change_orientation("RPI")
    a, b, spacing = compare_images(im1, im2)
    res = hausdorff(a, b, spacing)
    lines = [f"Hausdorff distance: {res['hausdorff']:.4f} mm",
             f"Mean surface distance: {res['mean']:.4f} mm",
             f"Max distance from -i to -d: {res['max_a_to_b']:.4f} mm; from -d to -i: "
             f"{res['max_b_to_a']:.4f} mm"]
    if args.per_slice:
        for z, r in enumerate(hausdorff_per_slice(a, b, spacing, axis=2)):
            lines.append(f"Slice {z}: " + (f"Hausdorff {r['hausdorff']:.4f} mm, mean {r['mean']:.4f} mm"
                                            if r else "empty in one image"))
    text = "\n".join(lines)
    print(text)
    if args.o:
        atomic_write_text(args.o, text + "\n")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
