"""sct_qc: add an entry for an existing result to an HTML quality-control report."""
import logging
import os
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_open, input_file, run_command

logger = logging.getLogger(__name__)

PLANES = ("axial", "sagittal")
DEFAULT_QC = os.path.join(".", "qc")


def get_parser():
    parser = SCTArgumentParser(
        description="Add a quality-control entry for an existing result (segmentation, labels, "
                    "registration, before/after) to the HTML QC report in -qc <folder> (default: "
                    "./qc), then open <folder>/index.html in a browser. With -qc alone, rebuild the "
                    "report's index "
                    "from the entries already in the folder.\n\n"
                    "A segmentation is shown as an axial mosaic centred on the cord; point labels on "
                    "a sagittal slice; with -d, the page toggles between -i and -d (before / after).")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file,
                                  help="Image (background; the destination image for a registration).")
    parser.optional.add_argument("-s", metavar="<file>", type=input_file,
                                 help="Segmentation or point labels to overlay (and to centre the view).")
    parser.optional.add_argument("-d", metavar="<file>", type=input_file,
                                 help="Second image, toggled with -i (e.g. the moved source, or 'after').")
    parser.optional.add_argument("-p", metavar="<str>", default="sct_qc",
                                 help="Name of the process shown in the report (e.g. sct_deepseg_sc, "
                                      "sct_label_utils, sct_register_multimodal). Default: sct_qc")
    parser.optional.add_argument("-plane", choices=PLANES,
                                 help="View: axial mosaic or sagittal slice. Default: axial around the cord with "
                                      "-s, sagittal for point labels, and without -s sagittal unless "
                                      "the image has few (< 15) axial slices.")
    parser.add_qc_args()
    parser.set_defaults(qc=None)
    parser.optional.add_argument("-qc-contrast", metavar="<str>",
                                 help="Contrast shown in the QC report (default: the image's folder name).")
    parser.add_common_args()
    return parser


def _run(args, argv=None):
    from spinalcordtoolbox.reports import qc, records

    if not args.qc:
        if args.i is None:
            raise ValueError("Give the image with -i (and the QC report folder with -qc <folder>)")
        args.qc = DEFAULT_QC   # as the established sct_qc
    if args.i is None:
        if args.s or args.d:
            raise ValueError("Give the image with -i")
        if not os.path.isdir(args.qc):
            raise ValueError(f"QC folder not found: {args.qc} (give -i to create a report with a first entry)")
        index = records.rebuild_index(args.qc)
        if args.v:
            display_open(index, "To see the QC report, open")
    else:
        command_line = " ".join(["sct_qc"] + list(sys.argv[1:] if argv is None else argv))
        folder = qc.generate_qc(args.i, args.qc, process=args.p, seg=args.s, image2=args.d, plane=args.plane,
                                command_line=command_line, dataset=args.qc_dataset,
                                subject=args.qc_subject, contrast=args.qc_contrast)
        # generate_qc prints where the entry and the report are
        logger.debug("Entry written in %s", folder)


def main(argv=None):
    return run_command(get_parser(), lambda args: _run(args, argv), argv)


if __name__ == "__main__":
    main()
