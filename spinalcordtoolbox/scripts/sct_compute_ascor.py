"""sct_compute_ascor: spinal cord to spinal canal area ratio (aSCOR)."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command


def _flag(text):
    return int(int(text) != 0)


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the adapted spinal cord occupation ratio (aSCOR): cord cross-sectional "
                    "area divided by the spinal canal area (cord + CSF), per slice, then averaged "
                    "over all slices, per vertebral level or per slice. Areas are angle-corrected "
                    "as in sct_process_segmentation.")
    m = parser.mandatory
    m.add_argument("-i-SC", metavar="<file>", type=input_file, required=True, dest="i_SC",
                   help="Spinal cord segmentation.")
    m.add_argument("-i-canal", metavar="<file>", type=input_file, required=True, dest="i_canal",
                   help="Spinal canal segmentation (cord + CSF), same grid as -i-SC.")
    o = parser.optional
    o.add_argument("-vertfile", metavar="<file>", type=input_file,
                   help="Vertebral level image, same grid (for -perlevel and -vert). Default: the "
                        "warped template's label/template/PAM50_levels.nii.gz when it exists.")
    o.add_argument("-perlevel", metavar="<int>", type=_flag, default=0,
                   help="1 (any non-zero value, e.g. -1 as in the course): one row per vertebral "
                        "level. Default: 0")
    o.add_argument("-perslice", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="One row per slice. Default: 0")
    o.add_argument("-z", metavar="<str>", help="Slice range, e.g. 5:20.")
    o.add_argument("-vert", metavar="<str>", help="Vertebral levels, e.g. 2:5.")
    o.add_argument("-o", metavar="<file>", default="ascor.csv", help="Output CSV. Default: ascor.csv")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.shape.ascor import COLUMNS, compute_ascor
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.utils.csvio import write_results_csv
    from spinalcordtoolbox.utils.fs import check_not_input

    check_not_input(args.o)
    vertfile = args.vertfile
    if vertfile is None and (args.perlevel or args.vert):
        from spinalcordtoolbox.registration.template import WARPED_LEVELS, find_warped_levels

        vertfile = find_warped_levels(args.i_SC)
        if vertfile is None:
            raise ValueError(f"-perlevel and -vert need vertebral levels: give -vertfile, or run "
                             f"sct_warp_template first so that ./{WARPED_LEVELS.as_posix()} exists")
    rows, _ = compute_ascor(Image(args.i_SC), Image(args.i_canal),
                            im_vertfile=Image(vertfile) if vertfile else None,
                            perlevel=bool(args.perlevel), perslice=bool(args.perslice),
                            z=args.z, vert=args.vert)
    write_results_csv(args.o, rows, COLUMNS, filename=args.i_SC)
    display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
