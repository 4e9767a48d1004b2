"""sct_maths: mathematical operations on images, chained in the order given."""
import argparse
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, finite_float,
                                         finite_list, input_file, list_type, nonnegative_float,
                                         positive_int, run_command)

DTYPES = ("uint8", "int8", "int16", "uint16", "int32", "uint32", "float32", "float64")


class _Step(argparse.Action):
    """Record each operation with its value in ``args.steps``, in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, "steps", None) is None:
            namespace.steps = []
        namespace.steps.append((self.dest, values))


class _Percent(argparse.Action):
    """``-percent N``: binarize above the N-th percentile; bare ``-percent``: -bin/-thr/-uthr
    values are percentiles."""

    def __call__(self, parser, namespace, values, option_string=None):
        if values is None:
            namespace.percent = True
        else:
            _Step.__call__(self, parser, namespace, values, option_string)


def get_parser():
    parser = SCTArgumentParser(
        description="Perform mathematical operations on images. Operations are applied in the order "
                    "given, e.g. '-sub b.nii.gz -thr 0' or '-add 10 -mul 2'. Arithmetic is done in "
                    "floating point (uint8 0 - 1 gives -1, never 255). Output type, unless -type is "
                    "given: masks (-bin, -percent, -otsu, -otsu-median, -adap) are uint8; -div and "
                    "the statistics and filters give float64 on integer data; -add/-sub/-mul of "
                    "integers stay integer (numpy's promotion of the operand types; subtracting from "
                    "unsigned data goes signed: uint8 - uint8 -> int16); -thr, -uthr, -dilate, -erode "
                    "keep the type. A result that does not fit its type is saved in a wider type "
                    "(int16, int32, float64), never wrapped or clipped. NaN/Inf voxels of the inputs "
                    "propagate as in numpy; voxels an operation makes NaN/Inf are counted in a "
                    "warning.")
    parser.set_defaults(steps=None, percent=False)
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file,
                                  help="Input image.")
    parser.mandatory.add_argument("-o", metavar="<file>", required=True,
                                  help="Output image (.nii.gz), or text file for -mi/-minorm/-corr.")
    parser.optional.add_argument("-volumewise", type=int, choices=(0, 1), default=0,
                                 help="1: split a 4-D input into its 3-D volumes, apply the operations "
                                      "to each volume and stack the results back. Default: 0")
    ops = parser.add_argument_group("BASIC OPERATIONS")
    for name, verb, nargs in (("add", "Add", "*"), ("sub", "Subtract", "+"), ("mul", "Multiply by", "*"),
                              ("div", "Divide by", "+")):
        extra = (" Without a value on a 4-D image: the " + ("sum" if name == "add" else "product") +
                 " of its volumes.") if nargs == "*" else ""
        ops.add_argument(f"-{name}", metavar="<value|file>", nargs=nargs, action=_Step,
                         help=f"{verb} one or more numbers or images (same shape as -i; a 3-D image "
                              f"applies to every volume of a 4-D input).{extra}")
    for name, what in (("mean", "Average"), ("rms", "Root mean square"),
                       ("std", "Standard deviation (sample, ddof=1)")):
        ops.add_argument(f"-{name}", choices=("x", "y", "z", "t"), action=_Step,
                         help=f"{what} along a dimension.")
    ops.add_argument("-symmetrize", type=int, choices=(0, 1, 2), action=_Step,
                     help="Average the image with its mirror along this axis.")
    thr = parser.add_argument_group("THRESHOLDING")
    thr.add_argument("-bin", metavar="<float>", type=finite_float, action=_Step,
                     help="Binarize: 1 where the value is above the threshold, else 0.")
    thr.add_argument("-thr", metavar="<float>", type=finite_float, action=_Step, help="Set values below this to 0.")
    thr.add_argument("-uthr", metavar="<float>", type=finite_float, action=_Step, help="Set values above this to 0.")
    thr.add_argument("-percent", metavar="<int>", type=float, nargs="?", action=_Percent,
                     help="With a value N: binarize above the N-th percentile of the image values. "
                          "Without a value: the -bin, -thr and -uthr values are percentiles (0-100).")
    thr.add_argument("-otsu", metavar="<int>", type=positive_int, action=_Step,
                     help="Binarize with the Otsu threshold computed with this many histogram bins.")
    thr.add_argument("-otsu-median", metavar="<size,iter>", type=list_type(",", int), action=_Step,
                     dest="otsu_median",
                     help="Mask by dipy's median_otsu: median filter of this radius (voxels) applied "
                          "this many times, then Otsu threshold, e.g. 3,5.")
    thr.add_argument("-adap", metavar="<block,offset>", type=finite_list(",", float), action=_Step,
                     help="Adaptive threshold per axial slice (scikit-image threshold_local): block "
                          "size in voxels (odd) and offset, e.g. 7,0.")
    mor = parser.add_argument_group("MATHEMATICAL MORPHOLOGY")
    mor.add_argument("-dilate", metavar="<int>", type=positive_int, action=_Step,
                     help="Dilate with a structuring element of this size (radius for ball and disk, "
                          "side for cube and square), in voxels.")
    mor.add_argument("-erode", metavar="<int>", type=positive_int, action=_Step,
                     help="Erode (same element as -dilate).")
    mor.add_argument("-shape", choices=("ball", "cube", "disk", "square"), default="ball",
                     help="Structuring element; disk and square are 2-D (see -dim). Default: ball")
    mor.add_argument("-dim", type=int, choices=(0, 1, 2),
                     help="For -shape disk or square: axis perpendicular to the element. Default: 2")
    fil = parser.add_argument_group("FILTERING")
    fil.add_argument("-smooth", metavar="<sigma>", type=list_type(",", nonnegative_float), action=_Step,
                     help="Gaussian smoothing, sigma in mm (one value, or x,y,z).")
    fil.add_argument("-laplacian", metavar="<sigma>", type=list_type(",", nonnegative_float), action=_Step,
                     help="Laplacian of Gaussian, sigma in mm (one value, or x,y,z).")
    fil.add_argument("-denoise", metavar="<p=1,b=5>", action=_Step,
                     help="Non-local means denoising (dipy): p = patch radius, b = block radius "
                          "in voxels, e.g. p=1,b=5 ('-denoise 1': defaults).")
    sim = parser.add_argument_group("SIMILARITY (last operation; value written to -o as text and printed)")
    sim.add_argument("-mi", metavar="<file>", type=input_file, action=_Step,
                     help="Mutual information with this image.")
    sim.add_argument("-minorm", metavar="<file>", type=input_file, action=_Step,
                     help="Normalized mutual information with this image.")
    sim.add_argument("-corr", metavar="<file>", type=input_file, action=_Step,
                     help="Pearson correlation with this image.")
    misc = parser.add_argument_group("MISC")
    misc.add_argument("-type", choices=DTYPES,
                      help="Output data type (refused if values do not fit).")
    parser.add_common_args(misc)
    return parser


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
    from spinalcordtoolbox.processing import maths
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.utils.fs import atomic_write_text

    steps = [(op, [_operand(v) for v in value] if op in maths.ARITHMETIC_OPS else value)
             for op, value in (args.steps or [])]
    if not steps and args.type:
        steps = [("type", None)]
    img = Image(args.i)
    options = dict(shape=args.shape, dim=args.dim, percent=args.percent, volumewise=bool(args.volumewise))
    if steps and steps[-1][0] in maths.SIMILARITY_OPS:
        op, other = steps[-1]
        base = maths.run_chain(img, steps[:-1], **options) if len(steps) > 1 else img
        value = maths.similarity(base, Image(other), op)
        print(f"{op}: {value:.6g}")
        atomic_write_text(args.o, f"{value:.10g}\n")
        return
    result = maths.run_chain(img, steps, dtype=args.type, **options)
    result.save(args.o)
    display_viewer_syntax([args.i, args.o], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite="keep")


if __name__ == "__main__":
    sys.exit(main())
