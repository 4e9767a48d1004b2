"""sct_straighten_spinalcord: straighten the spinal cord along its centerline."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         run_command)


def get_parser():
    parser = SCTArgumentParser(
        description="Straighten the spinal cord: each slice of the output is the plane orthogonal "
                    "to the fitted cord centerline at the same distance along the cord, so "
                    "distances along the cord are preserved. Writes the straightened image, "
                    "straight_ref.nii.gz and the warping fields warp_curve2straight.nii.gz and "
                    "warp_straight2curve.nii.gz (ITK displacement fields).")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Input image (3-D), e.g. t2.nii.gz")
    parser.mandatory.add_argument("-s", metavar="<file>", type=input_file, required=True,
                                  help="Spinal cord segmentation or centerline, on the input's grid.")
    parser.optional.add_argument("-ldisc-input", metavar="<file>", type=input_file,
                                 help="Disc labels of the input (3 = C2-C3...), to match those of "
                                      "-ldisc-dest along the cord.")
    parser.optional.add_argument("-ldisc-dest", metavar="<file>", type=input_file,
                                 help="Disc labels of the straight destination (e.g. "
                                      "PAM50_label_disc.nii.gz). Needs -ldisc-input and -dest.")
    parser.optional.add_argument("-dest", metavar="<file>", type=input_file,
                                 help="Straight destination image (e.g. a template) defining the "
                                      "output grid.")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Straightened image. Default: <input>_straight.nii.gz")
    parser.optional.add_argument("-ofolder", metavar="<folder>", default=".",
                                 help="Output folder. Default: current folder")
    parser.optional.add_argument("-x", choices=["nn", "linear", "spline"], default="spline",
                                 help="Interpolation of the straightened image. Default: spline")
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, check_overlap
    from spinalcordtoolbox.straightening import save_straightening, straighten
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.o:
        check_not_input(os.path.join(args.ofolder, args.o))
    im, seg = Image(args.i), Image(args.s)
    check_overlap(im, seg, names=("input image", "segmentation"))
    optional = {k: (Image(getattr(args, k)) if getattr(args, k) else None)
                for k in ("ldisc_input", "ldisc_dest", "dest")}
    result = straighten(im, seg, labels_input=optional["ldisc_input"],
                        labels_dest=optional["ldisc_dest"], dest=optional["dest"])
    paths = save_straightening(result, im, args.ofolder, args.x,
                               os.path.join(args.ofolder, args.o) if args.o else None)
    print(f"Straightening accuracy: RMS {result.rms_mm:.2f} mm, max {result.max_mm:.2f} mm "
          f"(distance of the straightened cord centre from the straight line)")
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(paths["straight"], args.qc, process="sct_straighten_spinalcord",
                    command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                    subject=args.qc_subject)
    display_viewer_syntax([paths["straight"]], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
