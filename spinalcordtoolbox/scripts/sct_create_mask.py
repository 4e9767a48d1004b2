"""sct_create_mask: create a cylinder, box or Gaussian mask around a point or along the cord."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Create a mask along z (axial cylinder, box or Gaussian) centred on a point, on the "
                    "centre of the field of view, or on the cord centerline. Output on the input's grid.")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file,
                                  help="Image on whose grid the mask is created (3-D or 4-D).")
    parser.optional.add_argument(
        "-p", metavar="<method,arg>", default="center",
        help="Mask centre:\n"
             "  coord,<x>x<y>: voxel coordinates in the RPI-reoriented image\n"
             "  point,<file>: image holding one point label\n"
             "  center: centre of the field of view\n"
             "  centerline,<file>: segmentation or centerline (fitted, extended to all slices)\n"
             "Default: center")
    parser.optional.add_argument("-size", metavar="<size>", default="41",
                                 help="Size in voxels, or in mm with the suffix mm (e.g. 35mm). As the "
                                      "established toolbox: n voxels give a radius r = ceil((n-1)/2) "
                                      "voxels (box: |dx| <= r, so -size 20 is 21x21 voxels; gaussian: "
                                      "sigma = r voxels). Default: 41")
    parser.optional.add_argument("-exact-mm", metavar="<int>", type=int, choices=(0, 1), default=0,
                                 help="1: sizes are exact physical diameters instead (box side, cylinder "
                                      "diameter, gaussian full width at half maximum, in mm whatever the "
                                      "voxel size) and 'center' is the geometric centre of the field of "
                                      "view. Default: 0")
    parser.optional.add_argument("-f", choices=("cylinder", "box", "gaussian"), default="cylinder",
                                 help="Shape of the mask. Default: cylinder")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output mask. Default: mask_<input>.nii.gz in the current folder.")
    parser.add_common_args()
    return parser


def _parse_position(text):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.processing.masks import POSITIONS
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import register_input

    method, _, arg = text.partition(",")
    if method not in POSITIONS:
        raise choice_error("-p method", method, POSITIONS)
    if method == "center":
        return method, None
    if not arg:
        raise ValueError(f"-p {method} needs an argument, e.g. -p {method},<...>")
    if method == "coord":
        try:
            x, y = (int(v) for v in arg.lower().split("x"))
        except ValueError:
            raise ValueError(f"-p coord expects <x>x<y> voxel coordinates, got '{arg}'") from None
        return method, (x, y)
    register_input(arg)
    return method, Image(arg)


def _run(args):
    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.processing.masks import create_mask

    img = Image(args.i)
    method, arg = _parse_position(args.p)
    mask = create_mask(img, method, arg, size=args.size, kind=args.f,
                       convention="exact" if args.exact_mm else "established")
    stem, ext = split_ext(args.i)
    fname_out = args.o or f"mask_{stem}{ext or '.nii.gz'}"
    mask.save(fname_out)
    display_viewer_syntax([args.i, fname_out], colormaps=["gray", "red"], opacities=[1, 0.5], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
