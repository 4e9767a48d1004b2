"""sct_compute_mtsat: MT saturation (MTsat) and T1 maps from MT-, PD- and T1-weighted FLASH images."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Compute MTsat [p.u.] and T1 [s] maps (Helms et al., MRM 2008) from an MT-weighted, "
                    "a PD-weighted and a T1-weighted FLASH image on the same grid. Repetition times "
                    "[s] and flip angles [deg] are taken from the command line or, when not given, from "
                    "the BIDS JSON sidecar of each image (RepetitionTime, FlipAngle). Voxels without a "
                    "valid value (an input NaN/Inf, R1 not finite or < 0.01/s, |MTsat| > 100 p.u.) are "
                    "set to 0.")
    m = parser.mandatory
    m.add_argument("-mt", metavar="<file>", type=input_file, required=True,
                   help="MT-weighted image. Example: mt1.nii.gz")
    m.add_argument("-pd", metavar="<file>", type=input_file, required=True,
                   help="PD-weighted image. Example: mt0.nii.gz")
    m.add_argument("-t1", metavar="<file>", type=input_file, required=True,
                   help="T1-weighted image. Example: t1w.nii.gz")
    o = parser.optional
    for key, what in (("mt", "MT-weighted"), ("pd", "PD-weighted"), ("t1", "T1-weighted")):
        o.add_argument(f"-tr{key}", metavar="<float>", type=float, default=None,
                       help=f"TR [s] of the {what} image. Default: from its JSON sidecar")
    for key, what in (("mt", "MT-weighted"), ("pd", "PD-weighted"), ("t1", "T1-weighted")):
        o.add_argument(f"-fa{key}", metavar="<float>", type=float, default=None,
                       help=f"Flip angle [deg] of the {what} image. Default: from its JSON sidecar")
    o.add_argument("-b1map", metavar="<file>", type=input_file, default=None,
                   help="B1 map (relative flip angle, 1 = nominal) on the same grid, to correct MTsat.")
    o.add_argument("-omtsat", metavar="<file>", default="mtsat.nii.gz",
                   help="Output MTsat image. Default: mtsat.nii.gz")
    o.add_argument("-ot1map", metavar="<file>", default="t1map.nii.gz",
                   help="Output T1 map. Default: t1map.nii.gz")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics.qmri import acquisition_parameter, compute_mtsat
    from spinalcordtoolbox.utils.cli import SCTError
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.omtsat == args.ot1map:
        raise SCTError("-omtsat and -ot1map must differ")
    for path in (args.omtsat, args.ot1map):
        check_not_input(path)
    files = {"mt": args.mt, "pd": args.pd, "t1": args.t1}
    tr = {k: acquisition_parameter(getattr(args, f"tr{k}"), files[k], "RepetitionTime", f"-tr{k}")
          for k in files}
    fa = {k: acquisition_parameter(getattr(args, f"fa{k}"), files[k], "FlipAngle", f"-fa{k}")
          for k in files}
    mtsat, t1map = compute_mtsat(Image(args.mt), Image(args.pd), Image(args.t1), tr["mt"], tr["pd"],
                                 tr["t1"], fa["mt"], fa["pd"], fa["t1"],
                                 im_b1=Image(args.b1map) if args.b1map else None)
    mtsat.save(args.omtsat)
    t1map.save(args.ot1map)
    display_viewer_syntax([args.omtsat, args.ot1map], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite="keep")


if __name__ == "__main__":
    main()
