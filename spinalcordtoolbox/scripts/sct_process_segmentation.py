"""sct_process_segmentation: cross-sectional area and shape metrics of a spinal cord segmentation."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_open, input_file, nonnegative_float,
                                         positive_float, run_command)

CENTERLINE_ALGOS = ("polyfit", "bspline", "linear", "nurbs")


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the cross-sectional area (CSA) and shape metrics of a spinal cord "
                    "segmentation (binary or soft), per axial slice, corrected for the angle "
                    "between the cord centerline and the slice. Metrics: area [mm²], angle_AP and "
                    "angle_RL [deg], diameter_AP and diameter_RL [mm], eccentricity, orientation "
                    "[deg], solidity, length [mm]. diameter_AP is measured along the cord's AP "
                    "mid-line (mean thickness over 3 mm around the centre of mass, robust to "
                    "flattened, U-shaped cords) and split into length_anterior and "
                    "length_posterior; the ellipse's axis is in diameter_AP_ellipse. Results are "
                    "averaged over the selected slices (-z), vertebral levels (-vert), per level "
                    "(-perlevel, with -vert) or per slice (-perslice).")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True,
                   help="Spinal cord segmentation (3-D; binary or soft). Example: t2_seg.nii.gz")
    o = parser.optional
    o.add_argument("-o", metavar="<file>", default="csa.csv", help="Output CSV file. Default: csa.csv")
    o.add_argument("-append", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="Append results to the output CSV if it exists (same columns). Default: 0")
    o.add_argument("-z", metavar="<str>", help="Slice range (RPI slice numbers, inferior to superior). "
                                               "Example: 5:23")
    o.add_argument("-vert", metavar="<str>", help="Vertebral levels to keep. Example: 2:5")
    o.add_argument("-vertfile", metavar="<file>", type=input_file,
                   help="Vertebral level image (labeled segmentation), same grid as -i.")
    o.add_argument("-discfile", metavar="<file>", type=input_file,
                   help="Disc point labels (3 = C2-C3 disc...), same grid as -i; levels are derived "
                        "from them. Used instead of -vertfile.")
    o.add_argument("-perlevel", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="One row per vertebral level. Default: 0")
    o.add_argument("-perslice", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="One row per slice. Default: 0")
    o.add_argument("-angle-corr", metavar="<int>", type=int, choices=[0, 1], default=1,
                   help="Correct the area and shape for the angle between the centerline and the "
                        "slice normal. Default: 1")
    o.add_argument("-angle-corr-centerline", metavar="<file>", type=input_file,
                   help="Centerline image (same grid as -i) used for the angle correction instead "
                        "of the centerline of the segmentation.")
    o.add_argument("-centerline-algo", metavar="<str>", default="bspline",
                   help=f"Centerline fitting: {', '.join(CENTERLINE_ALGOS)}. Default: bspline")
    o.add_argument("-centerline-smooth", metavar="<float>", type=nonnegative_float, default=30,
                   help="Centerline smoothing [mm] (bspline, linear, nurbs). Default: 30")
    o.add_argument("-pmj", metavar="<file>", type=input_file,
                   help="Pontomedullary junction label (one point), same grid as -i.")
    o.add_argument("-pmj-distance", metavar="<float>", type=nonnegative_float,
                   help="Distance [mm] from the PMJ along the centerline at which to compute CSA.")
    o.add_argument("-pmj-extent", metavar="<float>", type=positive_float, default=20.0,
                   help="Extent [mm] of the slab centred on -pmj-distance. Default: 20")
    o.add_argument("-normalize-PAM50", metavar="<int>", type=int, choices=[0, 1], default=0,
                   dest="normalize_PAM50",
                   help="Resample per-slice metrics to PAM50 slices, level by level (needs "
                        "-vertfile or -discfile), and plot the CSA against healthy controls. "
                        "Only the PAM50 slices of the levels the subject covers are written "
                        "(partial levels included). Default: 0")
    o.add_argument("-symmetry", metavar="<int>", type=int, choices=[0, 1], nargs="?", const=1, default=0,
                   help="1: add the left/right symmetry of each slice: Dice and Hausdorff distance "
                        "[mm] between one half of the cord and the other half mirrored about the "
                        "cord's own AP axis through its centre of mass (columns symmetry_dice, "
                        "symmetry_hausdorff; the axis is drawn in the QC report). Default: 0")
    parser.add_qc_args()
    o.add_argument("-qc-image", metavar="<file>", type=input_file,
                   help="Anatomical image shown under the segmentation in the QC report.")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.shape.morphometry import morphometry
    from spinalcordtoolbox.shape.aggregate_slicewise import COLUMNS, SYMMETRY_COLUMNS
    from spinalcordtoolbox.utils.cli import choice_error, refuse_together
    from spinalcordtoolbox.utils.csvio import write_results_csv
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.centerline_algo not in CENTERLINE_ALGOS:
        raise choice_error("centerline algorithm", args.centerline_algo, CENTERLINE_ALGOS)
    if not args.o.endswith(".csv"):
        raise ValueError(f"The output must be a .csv file: {args.o}")
    check_not_input(args.o)
    refuse_together(args, "-vertfile", "-discfile")
    im_seg = Image(args.i)
    if args.qc:  # refuse a QC image that cannot be used before computing and writing anything
        from spinalcordtoolbox.reports.qc import check_qc_inputs
        check_qc_inputs(args.qc_image or im_seg, im_seg, args.qc)
    opt = lambda path: Image(path) if path else None  # noqa: E731
    result = morphometry(
        im_seg, z=args.z, vert=args.vert, im_vertfile=opt(args.vertfile),
        im_discfile=opt(args.discfile), perslice=bool(args.perslice), perlevel=bool(args.perlevel),
        angle_corr=bool(args.angle_corr), im_angle_centerline=opt(args.angle_corr_centerline),
        centerline_algo=args.centerline_algo, centerline_smooth=args.centerline_smooth,
        im_pmj=opt(args.pmj), pmj_distance=args.pmj_distance, pmj_extent=args.pmj_extent,
        normalize_pam50=bool(args.normalize_PAM50), symmetry=bool(args.symmetry))
    columns = COLUMNS + (SYMMETRY_COLUMNS if args.symmetry else [])
    write_results_csv(args.o, result.rows, columns, filename=args.i, append=bool(args.append))
    outputs = [args.o]
    if args.normalize_PAM50:
        from spinalcordtoolbox.shape.hc_database import hc_slice_stats, load_hc, plot_metric_vs_hc

        png = os.path.splitext(args.o)[0] + "_PAM50_area.png"
        stats = hc_slice_stats(load_hc(metrics=["area"]), "area")
        plot_metric_vs_hc(result.metrics["area"], result.pam50_levels, stats, png, metric="area",
                          title=f"CSA of {os.path.basename(args.i)} vs healthy controls (PAM50)")
        outputs.append(png)
    if args.qc:
        from spinalcordtoolbox.shape.morphometry import qc_shapes
        from spinalcordtoolbox.reports.qc import generate_qc

        # axial mosaic with, per slice, the fitted ellipse and its AP / RL diameters
        entry = generate_qc(args.qc_image or args.i, args.qc, process="sct_process_segmentation",
                            seg=args.i, command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                            subject=args.qc_subject,
                            shapes=qc_shapes(result.ellipses,
                                             result.metrics if args.symmetry and not args.normalize_PAM50
                                             else None))
        outputs.append(entry)
    for path in outputs:
        display_open(path, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
