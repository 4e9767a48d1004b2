"""sct_get_centerline: extract and fit the spinal cord centerline."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         nonnegative_float, run_command)

METHODS = ("fitseg", "optic", "cnn", "viewer")
CONTRASTS = ("t1", "t2", "t2s", "dwi")
ALGOS = ("polyfit", "bspline", "linear", "nurbs")


def get_parser():
    parser = SCTArgumentParser(
        description="Extract the spinal cord centerline, one point per axial slice, fitted with a "
                    "smooth curve. Outputs a binary centerline image (same grid and orientation as "
                    "the input) and a CSV of the fitted x, y, z coordinates (RPI voxels, one slice "
                    "per row).")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Input image (or segmentation with -method fitseg).")
    o = parser.optional
    o.add_argument("-method", metavar="<str>", default="fitseg",
                   help=f"Method: {', '.join(METHODS)}. fitseg: fit the centerline of a "
                        "segmentation or label image (-s, else -i itself); optic/cnn: detect the "
                        "cord with the pretrained centerline network, then fit; viewer: click "
                        "points along the cord in a sagittal window, then fit. Default: fitseg")
    o.add_argument("-s", metavar="<file>", type=input_file,
                   help="Segmentation or labels to fit (-method fitseg). Default: -i itself.")
    o.add_argument("-c", metavar="<str>", help=f"Contrast for optic/cnn: {', '.join(CONTRASTS)}.")
    o.add_argument("-centerline-algo", metavar="<str>", default="bspline",
                   help=f"Fitting: {', '.join(ALGOS)}. Default: bspline")
    o.add_argument("-centerline-smooth", metavar="<float>", type=nonnegative_float, default=30,
                   help="Smoothing [mm]: wiggles shorter than this are removed (bspline, "
                        "linear; knot spacing for nurbs). Default: 30")
    o.add_argument("-o", metavar="<file>",
                   help="Output centerline image. Default: <input>_centerline.nii.gz in the "
                        "current folder; the CSV has the same name with .csv.")
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.centerline.core import get_centerline, save_centerline_csv
    from spinalcordtoolbox.image import Image, check_same_grid, split_ext
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.method not in METHODS:
        raise choice_error("method", args.method, METHODS)
    if args.centerline_algo not in ALGOS:
        raise choice_error("centerline algorithm", args.centerline_algo, ALGOS)
    out = args.o or split_ext(args.i)[0] + "_centerline.nii.gz"
    csv_path = out[:-7] + ".csv" if out.endswith(".nii.gz") else os.path.splitext(out)[0] + ".csv"
    check_not_input(out)
    check_not_input(csv_path)
    im = Image(args.i).require_3d("input image")
    if args.method == "fitseg":
        source = Image(args.s).require_3d("segmentation") if args.s else im
        if args.s:
            check_same_grid(source, im, names=("segmentation", "image"))
    elif args.method == "viewer":
        from spinalcordtoolbox.labeling.viewer import pick_points
        source = pick_points(im, None, "Click points along the spinal cord, from top to bottom")
    else:
        if args.c is None:
            raise ValueError(f"-method {args.method} needs the contrast (-c {'/'.join(CONTRASTS)})")
        if args.c not in CONTRASTS:
            raise choice_error("contrast (-c)", args.c, CONTRASTS)
        try:
            from spinalcordtoolbox.pretrained.centerline import detect_centerline
        except ImportError:
            raise RuntimeError(f"-method {args.method} needs the pretrained centerline detector, "
                               "which is not available in this installation") from None
        source = detect_centerline(im, args.c)
    im_ctl, arr_ctl, _, fit = get_centerline(source, algo=args.centerline_algo,
                                             smooth=args.centerline_smooth, minmax=True)
    im_ctl.change_type("uint8")
    save_centerline_csv(arr_ctl, csv_path)
    im_ctl.save(out)
    print(f"Centerline fit ({args.centerline_algo}): RMS distance to the data {fit['rmse']:.2f} mm, "
          f"max curvature {fit['laplacian_max']:.4f} 1/mm")
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc

        generate_qc(args.i, args.qc, process="sct_get_centerline", seg=out,
                    command_line=" ".join(sys.argv), dataset=args.qc_dataset, subject=args.qc_subject)
    display_viewer_syntax([args.i, out], colormaps=["gray", "red"], opacities=[None, 1.0])


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
