"""sct_compute_mscc: maximum spinal cord compression (MSCC) from three AP diameters."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the maximum spinal cord compression, MSCC = (1 - di / ((da + db) / 2)) x 100 "
                    "[%] (Miyanji et al., Radiology 2007), from the antero-posterior cord diameter at the "
                    "compression (di) and at the nearest normal levels above (da) and below (db). To "
                    "measure it from a segmentation and compression labels, use "
                    "sct_compute_compression.")
    m = parser.mandatory
    for flag, what in (("di", "at the compression"), ("da", "above the compression"),
                       ("db", "below the compression")):
        m.add_argument(f"-{flag}", metavar="<float>", type=float, required=True,
                       help=f"Antero-posterior cord diameter {what} [mm].")
    parser.optional.add_argument("-o", metavar="<file>", default=None,
                                 help="Text file to write the MSCC [%%] to.")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.shape.compression import mscc
    from spinalcordtoolbox.utils.cli import SCTError, display_open
    from spinalcordtoolbox.utils.fs import atomic_write_text

    if min(args.di, args.da, args.db) <= 0:
        raise SCTError("Diameters must be positive")
    value = mscc(args.di, args.da, args.db)
    print(f"\nMSCC = {value}\n")
    if args.o:
        atomic_write_text(args.o, str(value))
        display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
