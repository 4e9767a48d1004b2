"""sct_deepseg_sc: spinal-cord centerline detection and segmentation with the deepseg_sc networks."""
import sys

from spinalcordtoolbox.pretrained.options import add_centerline_args, add_device_arg
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         run_command)

CONTRASTS = ("t1", "t2", "t2s", "dwi")
KERNELS = ("2d", "3d")


def get_parser():
    parser = SCTArgumentParser(
        description="Spinal cord segmentation with the deepseg_sc convolutional networks (Gros et al., "
                    "NeuroImage 2019): the cord centerline is detected first (-centerline cnn), then "
                    "segmented. The segmentation weights are downloaded on demand "
                    "(sct_download_data -d deepseg_sc_models); the centerline detectors for t2, t2s "
                    "and dwi work offline: use -centerline-only to output the detected centerline. "
                    "For a segmentation with no download, see sct_propseg.")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Input image (3-D).")
    parser.mandatory.add_argument("-c", metavar="<str>", required=True,
                                  help=f"Contrast: {', '.join(CONTRASTS)}.")
    o = parser.optional
    add_centerline_args(o, "Centerline or cord mask on the input's grid (with -centerline file).")
    o.add_argument("-centerline-only", action="store_true",
                   help="Only detect the centerline (offline) and write it: one voxel per axial slice "
                        "where the cord is found, <input>_centerline.nii.gz by default.")
    o.add_argument("-kernel", metavar="<str>", default="2d",
                   help="Segmentation network: 2d or 3d. Default: 2d")
    o.add_argument("-o", metavar="<file>",
                   help="Output file. Default: <input>_seg.nii.gz (or <input>_centerline.nii.gz with "
                        "-centerline-only) in the current folder.")
    add_device_arg(o)
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.pretrained.models import sc_model_path
    from spinalcordtoolbox.pretrained.options import check_centerline_args, check_device
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.c not in CONTRASTS:
        raise choice_error("contrast (-c)", args.c, CONTRASTS)
    if args.kernel not in KERNELS:
        raise choice_error("kernel", args.kernel, KERNELS)
    check_centerline_args(args)
    check_device(args.device)
    if args.centerline_only and args.centerline != "cnn":
        raise ValueError("-centerline-only outputs the detected centerline: use it with -centerline cnn")
    suffix = "_centerline" if args.centerline_only else "_seg"
    out = args.o or split_ext(args.i)[0] + suffix + ".nii.gz"
    check_not_input(out)
    im = Image(args.i)

    if not args.centerline_only:
        # fail before any computation when the segmentation weights are missing
        sc_model_path(args.c, args.kernel)
        raise RuntimeError(
            "The deepseg_sc cord segmentation network is not implemented in this version (its weights "
            "could not be verified offline). Use 'sct_deepseg spinalcord', or 'sct_propseg' (no "
            "download); '-centerline-only' gives the cnn centerline")

    from spinalcordtoolbox.pretrained.centerline import detect_centerline
    ctl = detect_centerline(im, args.c, device=args.device)
    ctl.save(out)
    print(f"Centerline found in {int(ctl.data.sum())} slices")
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        entry = generate_qc(args.i, args.qc, process="sct_deepseg_sc", seg=out, plane="sagittal",
                            command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                            subject=args.qc_subject, contrast=args.c)
        print(f"QC entry: {entry}")
    display_viewer_syntax([args.i, out], colormaps=["gray", "red"], opacities=[1.0, 1.0], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
