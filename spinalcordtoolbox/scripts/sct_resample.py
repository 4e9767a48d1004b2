"""sct_resample: resample an image to a new resolution or onto a reference grid."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Resample a 3-D or 4-D image. The field of view and world coordinates are kept: a "
                    "point keeps its world position. Give one of -f, -mm, -vox or -ref. NaN/Inf voxels "
                    "of -i are read as 0 (with a warning giving their count).")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file, help="Input image.")
    parser.optional.add_argument("-f", metavar="<float>",
                                 help="Resampling factor per axis, e.g. 0.5x0.5x1 (0.5 halves the shape).")
    parser.optional.add_argument("-mm", metavar="<float>", help="New voxel size in mm, e.g. 0.5x0.5x1.")
    parser.optional.add_argument("-vox", metavar="<int>", help="New shape in voxels, e.g. 100x100x20.")
    parser.optional.add_argument("-ref", metavar="<file>", type=input_file,
                                 help="Resample onto the grid of this image.")
    parser.optional.add_argument("-x", choices=("nn", "linear", "spline", "label"),
                                 help="Interpolation. 'label': point labels moved to the nearest new voxel "
                                      "(none lost). Default: label for point-label images (one voxel per "
                                      "value), else linear")
    parser.optional.add_argument("-keep-fov", metavar="<int>", type=int, choices=(0, 1), default=0,
                                 help="0: the established toolbox's grid: the first voxel's centre stays in "
                                      "place and voxels beyond the old field of view take the nearest edge "
                                      "value. 1 (better for chained resamplings): the new grid covers exactly "
                                      "the old field of view and nothing is extrapolated (0 outside). "
                                      "Default: 0")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output image. Default: <input>_r.nii.gz in the current folder.")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, add_suffix
    from spinalcordtoolbox.resampling import parse_dims, resample_image

    given = [n for n in ("f", "mm", "vox", "ref") if getattr(args, n)]
    if len(given) != 1:
        raise ValueError("Give exactly one of -f, -mm, -vox or -ref")
    img = Image(args.i)
    kwargs = {}
    if args.ref:
        kwargs["ref"] = Image(args.ref)
    elif args.f:
        kwargs["factor"] = parse_dims(args.f, "-f")
    elif args.mm:
        kwargs["mm"] = parse_dims(args.mm, "-mm")
    else:
        kwargs["vox"] = [int(round(v)) for v in parse_dims(args.vox, "-vox")]
    convention = dict(anchor="fov", fill="zero") if args.keep_fov else dict(anchor="first_voxel", fill="nearest")
    out = resample_image(img, interpolation=args.x, **convention, **kwargs)
    fname_out = args.o or add_suffix(os.path.basename(args.i), "_r")
    out.save(fname_out)
    display_viewer_syntax([args.i, fname_out], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite={"-i": "zero"})


if __name__ == "__main__":
    sys.exit(main())
