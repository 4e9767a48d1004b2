"""sct_deepseg_lesion: multiple-sclerosis lesion segmentation with the deepseg_lesion networks."""
import sys

from spinalcordtoolbox.pretrained.options import add_centerline_args, add_device_arg
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         run_command)

CONTRASTS = ("t2", "t2_ax", "t2s")


def get_parser():
    parser = SCTArgumentParser(
        description="Segment multiple-sclerosis lesions in the spinal cord with the deepseg_lesion 3-D "
                    "convolutional networks (Gros et al., NeuroImage 2019). The image is cropped "
                    "around the cord centerline (detected with -centerline cnn, or given), "
                    "standardised and segmented in 48x48x48 patches at 0.5 mm isotropic.")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Input image (3-D).")
    parser.mandatory.add_argument("-c", metavar="<str>", required=True,
                                  help="Contrast: t2_ax (axial or isotropic T2), t2s (axial T2*), t2 "
                                       "(sagittal T2: its weights are not available offline).")
    o = parser.optional
    add_centerline_args(o, "Centerline or cord segmentation on the input's grid (with -centerline file).")
    o.add_argument("-ofolder", metavar="<folder>", default=".",
                   help="Output folder; the mask is <input>_lesionseg.nii.gz. Default: current folder")
    add_device_arg(o)
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.pretrained.lesion import segment_lesion
    from spinalcordtoolbox.pretrained.options import check_centerline_args, check_device
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.c not in CONTRASTS:
        raise choice_error("contrast (-c)", args.c, CONTRASTS)
    check_centerline_args(args)
    check_device(args.device)
    out = os.path.join(args.ofolder, split_ext(args.i)[0] + "_lesionseg.nii.gz")
    check_not_input(out)
    centerline = Image(args.file_centerline) if args.centerline == "file" else None
    seg = segment_lesion(Image(args.i), args.c, centerline=centerline, device=args.device)
    from spinalcordtoolbox.utils.fs import makedirs
    makedirs(args.ofolder)
    seg.save(out)
    if seg.data.any():
        print(f"Lesions: {int(seg.data.sum())} voxels")
    else:
        print("No lesion found: the output mask is empty")
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        # no lesion is a valid result: the entry then shows the image alone
        entry = generate_qc(args.i, args.qc, process="sct_deepseg_lesion",
                            seg=out if seg.data.any() else None,
                            command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                            subject=args.qc_subject, contrast=args.c)
        print(f"QC entry: {entry}")
    display_viewer_syntax([args.i, out], colormaps=["gray", "red"], opacities=[1.0, 0.7], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
