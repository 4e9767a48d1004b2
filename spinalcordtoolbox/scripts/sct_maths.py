"""sct_maths: mathematical operations on images (one operation per call)."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, finite_float,
                                         finite_list, input_file, list_type, nonnegative_float,
                                         positive_int, run_command)

IMAGE_OPS = ("add", "sub", "mul", "div", "mean", "rms", "std", "bin", "thr", "uthr", "otsu", "adap",
             "dilate", "erode", "smooth", "laplacian", "denoise", "symmetrize", "type")
VALUE_OPS = ("mi", "minorm", "corr")


def get_parser():
    parser = SCTArgumentParser(
        description="Perform mathematical operations on images. One operation per call (run the "
                    "command again to chain operations). Results equal numpy/scipy on the same "
                    "arrays; arithmetic results are stored as floats when needed (never silently "
                    "truncated), binary results as uint8.")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file,
                                  help="Input image.")
    parser.mandatory.add_argument("-o", metavar="<file>", required=True,
                                  help="Output image (.nii.gz), or text file for -mi/-minorm/-corr.")
    ops = parser.add_argument_group("BASIC OPERATIONS")
    for name, verb in (("add", "Add"), ("sub", "Subtract"), ("mul", "Multiply by"), ("div", "Divide by")):
        ops.add_argument(f"-{name}", metavar="<value|file>", nargs="+",
                         help=f"{verb} one or more numbers or images (same shape as -i; a 3-D image "
                              f"applies to every volume of a 4-D input), in the order given.")
    for name, what in (("mean", "Average"), ("rms", "Root mean square"),
                       ("std", "Standard deviation (sample, ddof=1)")):
        ops.add_argument(f"-{name}", choices=("x", "y", "z", "t"), help=f"{what} along a dimension.")
    ops.add_argument("-symmetrize", type=int, choices=(0, 1, 2),
                     help="Average the image with its mirror along this axis.")
    thr = parser.add_argument_group("THRESHOLDING")
    thr.add_argument("-bin", metavar="<float>", type=finite_float,
                     help="Binarize: 1 where the value is above the threshold, else 0.")
    thr.add_argument("-thr", metavar="<float>", type=finite_float, help="Set values below this to 0.")
    thr.add_argument("-uthr", metavar="<float>", type=finite_float, help="Set values above this to 0.")
    thr.add_argument("-percent", action="store_true",
                     help="-bin, -thr and -uthr values are percentiles (0-100) of the image values.")
    thr.add_argument("-otsu", metavar="<int>", type=positive_int,
                     help="Binarize with the Otsu threshold computed with this many histogram bins.")
    thr.add_argument("-adap", metavar="<block,offset>", type=finite_list(",", float),
                     help="Adaptive threshold per axial slice (scikit-image threshold_local): block "
                          "size in voxels (odd) and offset, e.g. 7,0.")
    mor = parser.add_argument_group("MATHEMATICAL MORPHOLOGY")
    mor.add_argument("-dilate", metavar="<int>", type=positive_int,
                     help="Dilate with a structuring element of this size (radius for ball and disk, "
                          "side for cube), in voxels.")
    mor.add_argument("-erode", metavar="<int>", type=positive_int, help="Erode (same element as -dilate).")
    mor.add_argument("-shape", choices=("ball", "cube", "disk"), default="ball",
                     help="Structuring element. Default: ball")
    mor.add_argument("-dim", type=int, choices=(0, 1, 2),
                     help="For -shape disk: axis perpendicular to the disk. Default: 2")
    fil = parser.add_argument_group("FILTERING")
    fil.add_argument("-smooth", metavar="<sigma>", type=list_type(",", nonnegative_float),
                     help="Gaussian smoothing, sigma in mm (one value, or x,y,z).")
    fil.add_argument("-laplacian", metavar="<sigma>", type=list_type(",", nonnegative_float),
                     help="Laplacian of Gaussian, sigma in mm (one value, or x,y,z).")
    fil.add_argument("-denoise", metavar="<p=1,b=5>",
                     help="Non-local means denoising (dipy): p = patch radius, b = block radius "
                          "in voxels, e.g. p=1,b=5.")
    sim = parser.add_argument_group("SIMILARITY (value written to -o as text and printed)")
    sim.add_argument("-mi", metavar="<file>", type=input_file, help="Mutual information with this image.")
    sim.add_argument("-minorm", metavar="<file>", type=input_file, help="Normalized mutual information with this image.")
    sim.add_argument("-corr", metavar="<file>", type=input_file, help="Pearson correlation with this image.")
    misc = parser.add_argument_group("MISC")
    misc.add_argument("-type", choices=("uint8", "int16", "int32", "float32", "float64", "uint16"),
                      help="Output data type (refused if values do not fit).")
    parser.add_common_args(misc)
    return parser


def _selected_operation(args):
    given = [op for op in IMAGE_OPS + VALUE_OPS if getattr(args, op, None) is not None and op != "type"]
    if not given:
        if args.type:
            return "type"
        raise ValueError("No operation given (see -h)")
    if len(given) > 1 and set(given) != {"thr", "uthr"}:
        raise ValueError(f"Give one operation per call, got {', '.join('-' + g for g in given)}")
    return "thr" if set(given) == {"thr", "uthr"} else given[0]


def _operand(text):
    """A number, or an existing image file (protected from being overwritten)."""
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.utils.fs import register_input

    try:
        return float(text)
    except ValueError:
        register_input(text)
        return Image(text)


def _run(args):
    from spinalcordtoolbox import sct_math
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.utils.fs import atomic_write_text

    op = _selected_operation(args)
    img = Image(args.i)
    if op in sct_math.SIMILARITY_OPS:
        value = sct_math.similarity(img, Image(getattr(args, op)), op)
        print(f"{op}: {value:.6g}")
        atomic_write_text(args.o, f"{value:.10g}\n")
        return
    value = getattr(args, op)
    if op in sct_math.ARITHMETIC_OPS:
        value = [_operand(v) for v in value]
    elif op == "thr":
        value = (args.thr, args.uthr)
    result = sct_math.apply_operation(img, op, value, percent=args.percent, shape=args.shape,
                                      dim=args.dim)
    if args.type:
        result.change_type(args.type)
    result.save(args.o)
    display_viewer_syntax([args.i, args.o], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
