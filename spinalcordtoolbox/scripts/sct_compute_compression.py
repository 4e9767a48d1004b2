"""sct_compute_compression: MSCC-style compression ratios of the spinal cord."""
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_open, input_file, nonnegative_int,
                                         positive_float, run_command)

METRICS = ("diameter_AP", "area", "diameter_RL", "eccentricity", "solidity")


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the compression ratio of a cord metric at each compression label: "
                    "ratio = (1 - mi / ((ma + mb) / 2)) * 100 [%], with mi the metric at the "
                    "compression and ma, mb its mean over non-compressed cord above and below. "
                    "With -normalize-hc 1, each value is first divided by the healthy-control mean "
                    "at the same PAM50 slice (database PAM50-normalized-metrics).")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True,
                   help="Spinal cord segmentation. Example: t2_seg.nii.gz")
    m.add_argument("-l", metavar="<file>", type=input_file, required=True,
                   help="Compression labels: one point per compression, same grid as -i (with "
                        "-mode lesion: a lesion mask).")
    o = parser.optional
    o.add_argument("-vertfile", metavar="<file>", type=input_file,
                   help="Vertebral level image (labeled segmentation), same grid as -i. Needed "
                        "for -normalize-hc 1; gives the level of each compression.")
    o.add_argument("-metric", metavar="<str>", default="diameter_AP",
                   help=f"Metric: {', '.join(METRICS)}. diameter_AP is measured along the cord's AP "
                        "mid-line (see sct_process_segmentation). Default: diameter_AP")
    o.add_argument("-mode", metavar="<str>", default="compression",
                   help="compression: -l holds one point per compression site. lesion: -l is a "
                        "lesion mask; each lesion is a site, mi is taken on its centre slice and "
                        "the non-compressed slabs start -distance above its top and below its "
                        "bottom. Default: compression")
    o.add_argument("-normalize-hc", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="Normalise by healthy controls at the same PAM50 slices. Default: 0")
    o.add_argument("-sex", metavar="<str>", choices=["F", "M"],
                   help="Healthy controls of this sex only (F or M).")
    o.add_argument("-age", metavar="<int>", type=nonnegative_int, nargs=2,
                   help="Healthy controls within this age range, e.g. -age 40 60.")
    o.add_argument("-distance", metavar="<float>", type=positive_float, default=10.0,
                   help="Distance [mm] from the compression to the non-compressed slices. "
                        "Default: 10")
    o.add_argument("-extent", metavar="<float>", type=positive_float, default=20.0,
                   help="Extent [mm] of the non-compressed slabs above and below. Default: 20")
    o.add_argument("-o", metavar="<file>", default="compression_metrics.csv",
                   help="Output CSV. Default: compression_metrics.csv (current folder)")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.shape.compression import compute_compression
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.csvio import write_results_csv
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.metric not in METRICS:
        raise choice_error("metric", args.metric, METRICS)
    if args.mode not in ("compression", "lesion"):
        raise choice_error("mode", args.mode, ("compression", "lesion"))
    check_not_input(args.o)
    results = compute_compression(
        Image(args.i), Image(args.l), Image(args.vertfile) if args.vertfile else None,
        metric=args.metric, normalize_hc=bool(args.normalize_hc), sex=args.sex,
        age=tuple(args.age) if args.age else None, distance=args.distance, extent=args.extent,
        mode=args.mode)
    name = f"{args.metric}_ratio"
    columns = ["compression_level", "Slice (I->S)", name]
    if args.normalize_hc:
        columns.append(f"{name}_PAM50_normalized")
    rows = [{"compression_level": r["level"], "Slice (I->S)": r["slice"], name: r["ratio"],
             f"{name}_PAM50_normalized": r.get("ratio_norm")} for r in results]
    for r in results:
        extra = f", normalised {r['ratio_norm']:.1f} %" if "ratio_norm" in r else ""
        print(f"Compression at slice {r['slice']} (level {r['level']}): {name} {r['ratio']:.1f} %{extra}")
    write_results_csv(args.o, rows, columns, filename=args.i)
    display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
