"""sct_compute_flow: velocity from the phase image of a phase-contrast (VENC) acquisition."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the velocity from the phase image of a velocity-encoded (phase-contrast) "
                    "acquisition: velocity = phase / pi * VENC. The phase is read as radians when the "
                    "values lie in [-pi, pi], as Siemens 13-bit integers (-4096..4095) otherwise.")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True,
                   help="Phase image (3-D or 4-D). Example: venc.nii.gz")
    m.add_argument("-venc", metavar="<float>", type=float, required=True,
                   help="Velocity encoding (VENC), the largest encoded velocity [cm/s]. Example: 20")
    o = parser.optional
    o.add_argument("-o", metavar="<file>", default=None,
                   help="Output velocity image [cm/s]. Default: <input>_velocity.nii.gz in the current "
                        "folder")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, add_suffix
    from spinalcordtoolbox.metrics.qmri import phase_to_velocity
    from spinalcordtoolbox.utils.fs import check_not_input

    out = args.o or add_suffix(os.path.basename(args.i), "_velocity")
    check_not_input(out)
    phase_to_velocity(Image(args.i), args.venc).save(out)
    display_viewer_syntax([out], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
