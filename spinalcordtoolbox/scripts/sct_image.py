"""sct_image: header and array manipulations (orientation, flip, split/concat, pad, header copy)."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         list_type, nonnegative_int, run_command)

DIMS = ("x", "y", "z", "t")
# operations that output an image, with the suffix of the default output name (<input><suffix>)
IMAGE_OPS = {"setorient": None, "setorient_data": None, "flip": "_flip", "concat": "_concat",
             "remove_vol": "_remove-vol", "keep_vol": "_keep-vol", "type": None, "pad": "_pad",
             "pad_asym": "_pad", "copy_header": "_copy-header", "set_sform_to_qform": "_sform2qform",
             "set_qform_to_sform": "_qform2sform", "to_fsl": "_fsl", "from_fsl": "_itk",
             "transpose": "_transpose", "omc": "_omc", "stitch": "_stitched"}
INFO_OPS = ("header", "getorient", "split", "mcs")
MULTI_INPUT_OPS = ("concat", "omc", "stitch")


def get_parser():
    parser = SCTArgumentParser(
        description="Manipulate images: orientation, flip, split/concatenate, select volumes, pad, "
                    "data type, header copy. One operation per call. Outputs go to -o, else to "
                    "the current folder with a suffix; an input is never overwritten. Voxel values, "
                    "NaN/Inf included, are copied as they are.")
    parser.mandatory.add_argument("-i", metavar="<file>", nargs="+", required=True, type=input_file,
                                  help="Input image(s); several only with -concat, -omc and -stitch.")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output image. With -split: its name is the prefix of the parts.")
    parser.optional.add_argument("-header", nargs="?", const="sct", choices=("sct", "nibabel", "fslhd"),
                                 help="Print the header (style sct, nibabel or fslhd; default sct).")
    ori = parser.add_argument_group("ORIENTATION (toolbox naming: RPI = x from Right, y from "
                                    "Posterior, z from Inferior)")
    ori.add_argument("-getorient", action="store_true", help="Print the orientation (e.g. AIL).")
    ori.add_argument("-setorient", metavar="<orient>",
                     help="Reorient data and header together (world coordinates kept), e.g. RPI.")
    ori.add_argument("-setorient-data", metavar="<orient>",
                     help="Reorder the data array only (header kept), to fix a wrong header.")
    ori.add_argument("-flip", choices=DIMS, help="Flip the data array along an axis (header kept).")
    ori.add_argument("-transpose", metavar="<axes>", type=list_type(",", str),
                     help="Permute the data array's axes (header kept), e.g. z,y,x swaps x and z.")
    multi = parser.add_argument_group("MULTI-COMPONENT")
    multi.add_argument("-split", choices=DIMS,
                       help="Split along a dimension: <name>_T0000.nii.gz, _X0000, _Y0000, _Z0000...")
    multi.add_argument("-concat", choices=DIMS, help="Concatenate the -i images along a dimension.")
    multi.add_argument("-mcs", action="store_true",
                       help="Multi-component split: an ITK warping field -> its X, Y, Z components "
                            "(<name>_X.nii.gz, _Y, _Z; <name> = -o, else the input's name).")
    multi.add_argument("-omc", action="store_true",
                       help="Multi-component merge: the -i images (e.g. X Y Z) -> one warping field.")
    multi.add_argument("-stitch", action="store_true",
                       help="Stitch the -i images (overlapping chunks of one spine, same orientation) "
                            "into one volume on a common grid, matching intensities in the overlaps "
                            "(see spinalcordtoolbox/processing/stitching.py). Use with -qc to check the result.")
    multi.add_argument("-remove-vol", metavar="<int list>", type=list_type(",", nonnegative_int),
                       help="Remove these volumes (0-based, e.g. 0,3) of a 4-D image.")
    multi.add_argument("-keep-vol", metavar="<int list>", type=list_type(",", nonnegative_int),
                       help="Keep only these volumes (0-based, e.g. 1,2) of a 4-D image.")
    misc = parser.add_argument_group("MISC")
    misc.add_argument("-type", choices=("uint8", "int8", "uint16", "int16", "int32", "uint32", "float32",
                                        "float64"),
                      help="Change the data type (refused when values do not fit).")
    misc.add_argument("-pad", metavar="<x,y,z>", type=list_type(",", nonnegative_int),
                      help="Zero-pad each side of x, y, z by this many voxels, e.g. 0,0,5.")
    misc.add_argument("-pad-asym", metavar="<x0,x1,y0,y1,z0,z1>", type=list_type(",", nonnegative_int),
                      help="Zero-pad asymmetrically (before,after for each axis).")
    misc.add_argument("-copy-header", metavar="<file>", type=input_file,
                      help="Write the data of this image with the header of -i.")
    misc.add_argument("-set-sform-to-qform", action="store_true", help="Copy the qform into the sform.")
    misc.add_argument("-set-qform-to-sform", action="store_true", help="Copy the sform into the qform.")
    warps = parser.add_argument_group("WARPING FIELDS (the field's grid is the destination)")
    warps.add_argument("-to-fsl", metavar="<source>", type=input_file,
                       help="Convert the ITK field -i (pulling this source image) into an FSL "
                            "relative warp (use with applywarp --rel).")
    warps.add_argument("-from-fsl", metavar="<source>", type=input_file,
                       help="Convert the FSL relative warp -i (towards this source image) into an "
                            "ITK displacement field.")
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _selected_operation(args):
    given = [op for op in list(IMAGE_OPS) + list(INFO_OPS)
             if getattr(args, op, None) not in (None, False)]
    if not given:
        raise ValueError("No operation given (see -h)")
    if len(given) > 1:
        raise ValueError(f"Give one operation per call, got {', '.join('-' + g.replace('_', '-') for g in given)}")
    return given[0]


def _default_output(args, op):
    import os

    from spinalcordtoolbox.image import split_ext

    if args.o:
        return args.o
    stem, ext = split_ext(args.i[0])
    suffix = IMAGE_OPS[op]
    if suffix is None:
        suffix = "_" + str(getattr(args, op)).upper() if op != "type" else "_" + args.type
    return os.path.join(os.getcwd(), stem + suffix + (ext or ".nii.gz"))


def _run(args):
    from spinalcordtoolbox.processing import image_tools
    from spinalcordtoolbox.image import Image

    op = _selected_operation(args)
    if len(args.i) > 1 and op not in MULTI_INPUT_OPS:
        raise ValueError("Several -i files are only allowed with -concat, -omc and -stitch")
    if op == "concat":
        out = image_tools.concat([Image(f) for f in args.i], args.concat)
        _save(out, _default_output(args, op), args)
        return
    if op == "omc":
        _save(image_tools.multicomponent_merge([Image(f) for f in args.i]), _default_output(args, op), args)
        return
    if op == "stitch":
        _stitch(args)
        return
    img = Image(args.i[0])
    if op == "getorient":
        print(img.orientation)
        return
    if op == "header":
        print(image_tools.header_text(img, args.header))
        return
    if op in ("split", "mcs"):
        _split(img, args)
        return
    if op == "setorient":
        out = img.copy().change_orientation(args.setorient)
    elif op == "setorient_data":
        out = img.copy().change_orientation(args.setorient_data, data_only=True)
    elif op == "flip":
        out = image_tools.flip(img, args.flip)
    elif op == "transpose":
        out = image_tools.transpose(img, args.transpose)
    elif op in ("remove_vol", "keep_vol"):
        out = image_tools.select_volumes(img, getattr(args, op), keep=(op == "keep_vol"))
    elif op == "type":
        out = img.copy().change_type(args.type)
    elif op in ("pad", "pad_asym"):
        out = image_tools.pad(img, getattr(args, op))
    elif op in ("to_fsl", "from_fsl"):
        from spinalcordtoolbox.registration.warp import convert_warp
        path = _default_output(args, op)
        convert_warp(args.i[0], getattr(args, op), path, to_fsl=(op == "to_fsl"))
        display_viewer_syntax([path], verbose=args.v)
        return
    elif op == "copy_header":
        out = image_tools.copy_header(img, Image(args.copy_header))
    else:
        out = image_tools.sync_qform_sform(img, "sform" if op == "set_sform_to_qform" else "qform")
    _save(out, _default_output(args, op), args)


def _save(img, path, args):
    img.save(path)
    display_viewer_syntax([path], verbose=args.v)


def _split(img, args):
    import os

    from spinalcordtoolbox.processing import image_tools
    from spinalcordtoolbox.image import split_ext
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.o:
        folder = os.path.dirname(os.path.abspath(args.o))
        stem, ext = split_ext(args.o)
    else:
        folder = os.getcwd()
        stem, ext = split_ext(args.i[0])
    if args.mcs:
        parts = image_tools.multicomponent_split(img)
        names = [os.path.join(folder, n) for n in image_tools.component_names(stem, len(parts), ext or ".nii.gz")]
    else:
        parts = image_tools.split(img, args.split)
        names = [os.path.join(folder, n)
                 for n in image_tools.split_names(stem, args.split, len(parts), ext or ".nii.gz")]
    for name in names:  # check every name before writing any part
        check_not_input(name)
    for part, name in zip(parts, names):
        part.save(name)
    print(f"Wrote {len(names)} images: {os.path.basename(names[0])} ... {os.path.basename(names[-1])}")


def _stitch(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.processing.stitching import stitch_images

    if len(args.i) < 2:
        raise ValueError("-stitch needs at least two images")
    out = stitch_images([Image(f) for f in args.i])
    path = _default_output(args, "stitch")
    out.save(path)
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(path, args.qc, process="sct_image_stitch", plane="sagittal",
                    command_line=" ".join(["sct_image"] + sys.argv[1:]), dataset=args.qc_dataset,
                    subject=args.qc_subject)
    display_viewer_syntax([path], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite="keep")


if __name__ == "__main__":
    sys.exit(main())
