"""sct_concat_transfo: concatenate transformations into one ITK displacement field."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Concatenate displacement fields and/or affine transforms into one ITK "
                    "displacement field on the grid of the destination image. Transformations are "
                    "listed in the order they apply to the image.")
    parser.mandatory.add_argument("-d", metavar="<file>", required=True, type=input_file,
                                  help="Destination image: gives the grid of the output field.")
    parser.mandatory.add_argument("-w", metavar="<file>", nargs="+", required=True, type=input_file,
                                  help="Transformations, in the order they apply to the image.")
    parser.optional.add_argument("-winv", metavar="<file>", nargs="+", type=input_file, default=[],
                                 help="Transformations listed in -w to invert before use.")
    parser.optional.add_argument("-o", metavar="<file>", default="warp_final.nii.gz",
                                 help="Output displacement field. Default: warp_final.nii.gz")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.registration.warp import compose_warps, natural_to_ants, write_warp
    from spinalcordtoolbox.utils.cli import display_viewer_syntax

    transforms, inverse = natural_to_ants(args.w, args.winv)
    ref = Image(args.d)
    write_warp(compose_warps(transforms, ref, inverse=inverse), ref, args.o)
    display_viewer_syntax([args.d, args.o], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite={"-w": "keep", "-winv": "keep"})


if __name__ == "__main__":
    main()
