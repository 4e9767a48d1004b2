"""sct_crop_image: crop an image by index bounds, a mask's bounding box, or a reference's extent."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, finite_float,
                                         input_file, list_type, nonnegative_int, run_command)


def _dilation(text):
    return list_type("x" if "x" in text else ",", nonnegative_int)(text)


def get_parser():
    parser = SCTArgumentParser(
        description="Crop an image. Bounds are inclusive voxel indices; negative values count from the "
                    "end (-1 = last voxel). World coordinates of the kept voxels are unchanged; "
                    "voxel values (NaN/Inf included) are copied as they are.")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file, help="Input image.")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output image. Default: <input>_crop.nii.gz in the current folder.")
    for ax in "xyz":
        parser.optional.add_argument(f"-{ax}min", metavar="<int>", type=int, help=f"Lower bound along {ax}.")
        parser.optional.add_argument(f"-{ax}max", metavar="<int>", type=int, help=f"Upper bound along {ax}.")
    parser.optional.add_argument("-m", metavar="<file>", type=input_file,
                                 help="Crop to the bounding box of this mask (same grid as -i).")
    parser.optional.add_argument("-ref", metavar="<file>", type=input_file,
                                 help="Crop to the extent of this image: the voxels whose centre lies between "
                                      "its first and last voxel centres, on non-zero voxels (as the "
                                      "established toolbox).")
    parser.optional.add_argument("-ref-extent", choices=("centres", "edges"), default="centres",
                                 help="'edges': keep every voxel whose centre lies within the reference's "
                                      "field of view (its outer voxel edges; half a reference voxel more on "
                                      "each side, zeros included). Default: centres")
    parser.optional.add_argument("-dilate", metavar="<int list>", type=_dilation, default=[0],
                                 help="With -m: enlarge the box by this many voxels: one value, or x,y,z "
                                      "(also written 5x5x0).")
    parser.optional.add_argument("-b", metavar="<float>", type=finite_float,
                                 help="Do not cut: set voxels outside the box to this value instead.")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.processing.cropping import crop_with
    from spinalcordtoolbox.image import Image, add_suffix

    img = Image(args.i)
    bounds = {k: getattr(args, k) for k in ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")}
    if (args.m or args.ref) and any(v is not None for v in bounds.values()):
        raise ValueError("Give index bounds, -m or -ref, not several")
    out = crop_with(img, mask=Image(args.m) if args.m else None, ref=Image(args.ref) if args.ref else None,
                    dilate=args.dilate, background=args.b, ref_extent=args.ref_extent, **bounds)
    fname_out = args.o or add_suffix(os.path.basename(args.i), "_crop")
    out.save(fname_out)
    display_viewer_syntax([fname_out], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite={"-i": "keep"})


if __name__ == "__main__":
    sys.exit(main())
