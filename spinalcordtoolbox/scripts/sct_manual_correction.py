"""sct_manual_correction: correct the QC report's failures by hand, into derivatives/labels."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, input_folder, run_command

DESCRIPTION = """
Walk the failures exported from the QC report ('Save Fails' -> qc_fail.yml), open each image with
its segmentation or labels in FSLeyes or ITK-SNAP, and save the corrected file as
<path-label>/<subject>/<datatype>/<image><suffix>-manual.nii.gz with a JSON sidecar (author, date).
Then re-run sct_run_batch with -path-segmanual <path-label> (default: the dataset's
derivatives/labels): the processing script uses the manual files.

qc_fail.yml is either the QC report's list of entries or the established form
'FILES_SEG: [sub-01_T2w.nii.gz, ...]' (also FILES_GMSEG, FILES_LABEL), listing images.
"""


def get_parser():
    parser = SCTArgumentParser(description=DESCRIPTION)
    m = parser.mandatory
    m.add_argument("-config", metavar="<file>", type=input_file, required=True,
                   help="qc_fail.yml saved from the QC report.")
    m.add_argument("-path-img", metavar="<folder>", type=input_folder, required=True,
                   help="Folder of the processed images and their automatic results, e.g. "
                        "<path-output>/data_processed.")
    m.add_argument("-path-label", metavar="<folder>", required=True,
                   help="Where the manual files go, e.g. <BIDS dataset>/derivatives/labels.")
    o = parser.optional
    o.add_argument("-suffix-files-seg", metavar="<str>", default="_seg",
                   help="Suffix of cord segmentations. Default: _seg")
    o.add_argument("-suffix-files-gmseg", metavar="<str>", default="_gmseg",
                   help="Suffix of gray-matter segmentations. Default: _gmseg")
    o.add_argument("-suffix-files-label", metavar="<str>", default="_labels",
                   help="Suffix of point labels. Default: _labels")
    o.add_argument("-viewer", metavar="<str>", default="auto", choices=["auto", "fsleyes", "itksnap", "none"],
                   help="auto (FSLeyes, else ITK-SNAP), fsleyes, itksnap, or none (only copy the files "
                        "to correct into -path-label). Default: auto")
    o.add_argument("-author", metavar="<str>", help="Author in the JSON sidecar. Default: git user.name "
                                                     "or the login name")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.batch.manual_correction import correct, plan_corrections, read_fail_list
    from spinalcordtoolbox.utils.cli import display_open

    entries = read_fail_list(args.config)
    suffixes = {"seg": args.suffix_files_seg, "gmseg": args.suffix_files_gmseg, "label": args.suffix_files_label}
    plans = plan_corrections(entries, args.path_img, args.path_label, suffixes)
    if not plans:
        print(f"Nothing to correct in {args.config}")
        return
    files = correct(plans, viewer=args.viewer, author=args.author)
    print("\n".join(["Manual files:"] + [f"  {f}" for f in files]))
    display_open(args.path_label, "Done! Re-run sct_run_batch with -path-segmanual")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
