"""sct_extract_metric: metric values (MTR, FA...) within atlas labels or a mask."""
import argparse
import os
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command

METHODS = ("ml", "map", "wa", "bin", "median", "max")
DEFAULT_FOLDER = os.path.join("label", "atlas")
DEFAULT_VERTFILE = os.path.join(".", "label", "template", "PAM50_levels.nii.gz")


class _ListLabels(argparse.Action):
    """Print the labels of -f and exit (no -i needed); main() parses it after -f."""

    def __call__(self, parser, namespace, values, option_string=None):
        from spinalcordtoolbox.metrics.extract_metric import list_labels
        from spinalcordtoolbox.utils.cli import SCTError

        try:
            print(list_labels(namespace.f, info_file=getattr(namespace, "label_file", None)))
        except SCTError as e:
            sys.stderr.write(f"ERROR: {e}\n")
            parser.exit(1)
        parser.exit(0)


def get_parser():
    parser = SCTArgumentParser(
        description="Extract a metric (MTR, FA, T2*...) within labels: the white/gray matter atlas "
                    "warped by sct_warp_template (folder with info_label.txt, e.g. label/atlas) or a "
                    "single mask (binary or probabilistic). One row per label, per slice (default "
                    "when neither -z nor -vert is given), per vertebral level or over the selected "
                    "slices. Voxels whose metric value is NaN/Inf are left out of every "
                    "estimator.\n\n"
                    "Example: sct_extract_metric -i mtr.nii.gz -f label/atlas -method map -l 51 -z 0:4")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file,
                   help="Image to extract the metric from (3-D). Example: dti_FA.nii.gz")
    o = parser.optional
    o.add_argument("-f", metavar="<folder|file>", default=DEFAULT_FOLDER,
                   help=f"Atlas folder with info_label.txt, or a single mask file. Default: "
                        f"{DEFAULT_FOLDER}")
    o.add_argument("-l", metavar="<str>", default="",
                   help="Label IDs, e.g. 51 (white matter), 4,5 or 0:29; combined labels of "
                        "info_label.txt allowed. ML/MAP use every atlas label but report only these. "
                        "Default: all individual labels")
    o.add_argument("-list-labels", nargs=0, action=_ListLabels,
                   help="List the labels of the folder given with -f and exit.")
    o.add_argument("-method", metavar="<str>", default="wa", choices=METHODS,
                   help="ml: maximum likelihood over all atlas labels jointly (large labels, low "
                        "noise). map: maximum a posteriori, prior from ML in the WM/GM/CSF clusters "
                        "(small tracts). wa: weighted average. bin: mean within the mask binarised "
                        "at 0.5. median: weighted median. max: maximum within the mask. ml/map need "
                        "an atlas whose labels sum to 1 in each voxel. Default: wa")
    o.add_argument("-append", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="Append the results to the output CSV (same columns). Default: 0")
    o.add_argument("-combine", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="Combine the labels of -l into one estimation. Default: 0")
    o.add_argument("-o", metavar="<file>", default="extract_metric.csv",
                   help="Output CSV. Default: extract_metric.csv")
    o.add_argument("-output-map", metavar="<file>", default=None, dest="output_map",
                   help="Also write the metric predicted by the labels: sum over every label of its "
                        "weight times its estimated value (shows the partial-volume model).")
    o.add_argument("-z", metavar="<str>", default="",
                   help="Slices (RPI, first slice 0), e.g. 5:23 or 0,2,3.")
    o.add_argument("-perslice", metavar="<int>", type=int, choices=[0, 1], default=None,
                   help="One row per slice (ml/map per slice differ from one estimation over all "
                        "slices). Default: 1 when neither -z nor -vert is given, else 0")
    o.add_argument("-vert", metavar="<str>", default="",
                   help="Vertebral levels, e.g. 2:5 (intersected with -z if both are given).")
    o.add_argument("-vertfile", metavar="<file>", default=None,
                   help=f"Vertebral level image on the metric's grid. Default: {DEFAULT_VERTFILE}")
    o.add_argument("-perlevel", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="One row per vertebral level (with -vert). Default: 0")
    o.add_argument("-discard-neg-val", metavar="<int>", type=int, choices=[0, 1], default=0,
                   dest="discard_neg_val",
                   help="Leave out voxels with a negative value. Default: 0")
    o.add_argument("-label-file", metavar="<file>", default=None, dest="label_file",
                   help="Label description file to use instead of info_label.txt of the -f folder "
                        "(same format; its file names are looked up in the -f folder).")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics.extract_metric import columns, extract_metric
    from spinalcordtoolbox.utils.cli import SCTError
    from spinalcordtoolbox.utils.csvio import write_results_csv
    from spinalcordtoolbox.utils.fs import check_not_input

    if not args.i:
        raise SCTError("the following argument is required: -i")
    if not args.o.endswith(".csv"):
        raise SCTError(f"The output must be a .csv file: {args.o}")
    check_not_input(args.o)
    vertfile = args.vertfile
    if (args.vert or args.perlevel) and vertfile is None:
        if not os.path.isfile(DEFAULT_VERTFILE):
            raise SCTError(f"-vert/-perlevel need a vertebral level file: give -vertfile "
                           f"(default {DEFAULT_VERTFILE} not found)")
        vertfile = DEFAULT_VERTFILE
    if vertfile is not None and not os.path.isfile(vertfile):
        raise SCTError(f"Vertebral level file not found: {vertfile}")
    if args.output_map:
        check_not_input(args.output_map)
    result = extract_metric(Image(args.i), args.f, labels=args.l, method=args.method, z=args.z or None,
                          vert=args.vert or None, im_vertfile=Image(vertfile) if vertfile else None,
                          perslice=None if args.perslice is None else bool(args.perslice),
                          perlevel=bool(args.perlevel), combine=bool(args.combine),
                          discard_neg_val=bool(args.discard_neg_val), info_file=args.label_file,
                          return_map=bool(args.output_map))
    rows, im_map = result if args.output_map else (result, None)
    write_results_csv(args.o, rows, columns(args.method), filename=args.i, append=bool(args.append))
    if im_map is not None:
        im_map.save(args.output_map)
    display_open(args.o, "Saved")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # -list-labels acts when parsed: parse it last so that it sees -f wherever it is given
    if "-list-labels" in argv:
        argv = [a for a in argv if a != "-list-labels"] + ["-list-labels"]
    return run_command(get_parser(), _run, argv, nonfinite={"-i": "keep"})


if __name__ == "__main__":
    main()
