"""sct_detect_compression: probability of cord compression at discs C3/C4 to C6/C7 from its shape."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Predict the probability of spinal cord compression on the axial slices at the "
                    "intervertebral discs C3/C4 (label 4) to C6/C7 (label 7) from the cord shape "
                    "(compression ratio, CSA, solidity, torsion), with the logistic model of Horakova "
                    "et al., QIMS 2022. Other discs are not processed.")
    m = parser.mandatory
    m.add_argument("-s", metavar="<file>", type=input_file, required=True,
                   help="Spinal cord segmentation. Example: t2s_seg.nii.gz")
    m.add_argument("-discfile", metavar="<file>", type=input_file, required=True,
                   help="Disc labels (value 3 = C2/C3, 4 = C3/C4...), e.g. from sct_label_vertebrae or "
                        "sct_label_utils -create-viewer 4:7.")
    o = parser.optional
    o.add_argument("-num-of-slices", metavar="<int>", type=int, default=0, dest="num_of_slices",
                   help="Also process this many slices above and below each disc (disc labels may be "
                        "off by a slice). Default: 0")
    o.add_argument("-angle-corr", metavar="<int>", type=int, choices=[0, 1], default=1, dest="angle_corr",
                   help="Correct the shape metrics for the cord's angle to the slice. Default: 1")
    o.add_argument("-o", metavar="<file>", default=None,
                   help="Output CSV. Default: <segmentation>_compression_results.csv in the current folder")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.shape.detect_compression import COLUMNS, detect_compression
    from spinalcordtoolbox.utils.csvio import write_results_csv
    from spinalcordtoolbox.utils.fs import check_not_input

    out = args.o or split_ext(args.s)[0] + "_compression_results.csv"
    check_not_input(out)
    rows = detect_compression(Image(args.s), Image(args.discfile), angle_correction=bool(args.angle_corr),
                              num_of_slices=args.num_of_slices)
    write_results_csv(out, rows, COLUMNS, filename=args.s)
    if args.v:
        for disc in dict.fromkeys(r["Disc"] for r in rows):
            cats = {r.get("Compression probability category") for r in rows if r["Disc"] == disc}
            state = ("compressed" if "yes" in cats else "possibly compressed" if "possible" in cats
                     else "not compressed")
            print(f"Disc {disc}: {state}")
    display_open(os.fspath(out), "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
