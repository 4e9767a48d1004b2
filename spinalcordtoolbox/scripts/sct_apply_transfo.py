"""sct_apply_transfo: apply warping fields and affine transforms to an image."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Apply transformations (ITK displacement fields and/or affine .txt/.mat files) "
                    "to a 3-D or 4-D image (4-D: volume by volume). Transformations are listed in "
                    "the order they apply to the image, e.g. '-w warp_template2anat.nii.gz "
                    "warp_anat2mt.nii.gz' brings a template image onto the MT space. NaN/Inf voxels "
                    "of -i are read as 0 (with a warning giving their count).")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file,
                                  help="Input image. Example: t2.nii.gz")
    parser.mandatory.add_argument("-d", metavar="<file>", required=True, type=input_file,
                                  help="Destination image: gives the output grid.")
    parser.mandatory.add_argument("-w", metavar="<file>", nargs="+", required=True, type=input_file,
                                  help="Transformations, in the order they apply to the image "
                                       "(space- or comma-separated).")
    parser.optional.add_argument("-winv", metavar="<file>", nargs="+", type=input_file, default=[],
                                 help="Transformations listed in -w to invert before use (affines "
                                      "exactly; displacement fields numerically: prefer the "
                                      "inverse warp written by the registration).")
    parser.optional.add_argument("-x", choices=("nn", "linear", "spline", "label"), default="spline",
                                 help="Interpolation. 'label': point labels keep their value and "
                                      "are never lost. Default: spline")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output file. Default: <input>_reg.nii.gz in the current folder.")
    parser.optional.add_argument("-crop", type=int, choices=(0, 1, 2), default=0,
                                 help="Crop to the region covered by the (last applied) warping "
                                      "field. 0: no, 1: set the outside to 0, 2: crop the output "
                                      "grid. Default: 0")
    parser.add_common_args()
    return parser


def _run(args):
    import os
    from spinalcordtoolbox.image import Image, add_suffix
    from spinalcordtoolbox.registration.warp import apply_transforms, check_not_emptied, natural_to_ants
    from spinalcordtoolbox.utils.cli import display_viewer_syntax

    transforms, inverse = natural_to_ants(args.w, args.winv)
    out_path = args.o or add_suffix(os.path.basename(args.i), "_reg")
    img, ref = Image(args.i), Image(args.d)
    result = apply_transforms(img, ref, transforms, inverse=inverse, interp=args.x, crop=args.crop)
    check_not_emptied(result, img)
    result.save(out_path)
    display_viewer_syntax([args.d, out_path], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite={"-i": "zero", "-w": "keep", "-winv": "keep"})


if __name__ == "__main__":
    main()
