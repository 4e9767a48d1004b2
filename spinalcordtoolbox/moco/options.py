"""Command-line options shared by sct_dmri_moco and sct_fmri_moco (light: imported by -h)."""
from spinalcordtoolbox.utils.cli import input_file

PARAM_HELP = ("Advanced parameters, key=value separated by commas:\n"
              "poly: degree of the polynomial regularising the translations along z (0: same "
              "translation for all slices). Default: 2\n"
              "smooth: in-plane Gaussian smoothing (sigma, mm) of the images registered. Default: {smooth}\n"
              "metric: MeanSquares, CC or MI. Default: {metric}\n"
              "gradStep: step (voxels) of the coarse search of each slice's translation. Default: 1\n"
              "sample: fraction (0-1] of the (masked) voxels used by the metric. Default: None (all)\n"
              "search: largest translation searched (mm). Default: 5")


def add_moco_args(parser, group_default, default):
    """Options shared by sct_dmri_moco and sct_fmri_moco."""
    o = parser.optional
    o.add_argument("-m", metavar="<file>", type=input_file,
                   help="Mask on the series' 3-D grid (e.g. a 35 mm cylinder around the cord from "
                        "sct_create_mask): the metric only uses its voxels. Recommended.")
    o.add_argument("-g", metavar="<int>", type=int, default=group_default,
                   help=f"Number of successive volumes averaged and registered together. "
                        f"Default: {group_default}")
    o.add_argument("-x", metavar="<str>", default="spline",
                   help="Interpolation of the corrected volumes: nn, linear or spline. Default: spline")
    o.add_argument("-ofolder", metavar="<folder>", default=".", help="Output folder. Default: .")
    o.add_argument("-param", metavar="<str>", help=PARAM_HELP.format(smooth=default.smooth, metric=default.metric))


def finish_moco(args, process, im, out, suffixes):
    """Write the images of ``out`` (``{suffix: key}``, e.g. ``{"_moco": "moco"}``) as
    <input><suffix>.nii.gz in -ofolder with the translation files, add the QC entry (-qc) and
    print how to view the result."""
    import os
    import sys

    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.moco.engine import save_moco_outputs
    from spinalcordtoolbox.utils.cli import display_viewer_syntax

    stem = os.path.join(args.ofolder, split_ext(args.i)[0])
    paths = {f"{stem}{suffix}.nii.gz": out[key] for suffix, key in suffixes.items()}
    save_moco_outputs(paths, out["result"], args.ofolder)
    if args.qc:
        from spinalcordtoolbox.moco.qc import moco_qc
        moco_qc(im, out["moco"], args.qc, process, seg=Image(args.qc_seg) if args.qc_seg else None,
                command_line=" ".join([process] + sys.argv[1:]), dataset=args.qc_dataset,
                subject=args.qc_subject)
    display_viewer_syntax([args.i, f"{stem}_moco.nii.gz"], verbose=args.v)
