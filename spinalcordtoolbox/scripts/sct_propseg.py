"""sct_propseg: segment the spinal cord with a classical method that needs no model download."""
import os
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, finite_float,
                                         input_file, positive_float, run_command)


def get_parser():
    parser = SCTArgumentParser(
        description="Segment the spinal cord with a deformable tube fitted to the cord/CSF boundary, in "
                    "the spirit of PropSeg (De Leener et al., NeuroImage 2014). Works on axial, sagittal "
                    "and isotropic images in any orientation, with no model download. The centerline is the "
                    "best smooth path through cord candidates (regions surrounded by CSF, checked by "
                    "their contour) over all slices; the CNN centerline detector's guesses (t2, t2s, dwi, "
                    "when its weights are installed) are extra evidence. -init-centerline, -init-mask or "
                    "-init guide it.",
        epilog="Example: sct_propseg -i t2.nii.gz -c t2 -qc qc")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True, help="Input image.")
    parser.mandatory.add_argument("-c", metavar="<str>", required=True,
                                  help="Contrast: t1 (cord brighter than CSF), t2, t2s (cord darker than "
                                       "CSF), dwi (mean diffusion-weighted image).")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output segmentation. Default: <input>_seg.nii.gz in -ofolder.")
    parser.optional.add_argument("-ofolder", metavar="<folder>", default=".",
                                 help="Output folder. Default: current folder")
    parser.optional.add_argument("-init-centerline", metavar="<file>", type=input_file,
                                 help="Centerline (binary image, or a segmentation) to start from.")
    parser.optional.add_argument("-init-mask", metavar="<file>", type=input_file,
                                 help="Mask with points or blobs on the cord that the detection must "
                                      "pass through.")
    parser.optional.add_argument("-init", metavar="<float>", type=finite_float,
                                 help="Axial slice where the detection is anchored: a slice index, or a "
                                      "fraction of the image (0-1).")
    parser.optional.add_argument("-radius", metavar="<float>", type=positive_float, default=4.0,
                                 help="Approximate radius of the cord, in mm. Default: 4")
    parser.optional.add_argument("-centerline-binary", action="store_true",
                                 help="Also write the centerline: <input>_centerline.nii.gz.")
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image, check_overlap, split_ext
    from spinalcordtoolbox.propseg.core import propseg
    from spinalcordtoolbox.utils.fs import check_not_input

    stem, ext = split_ext(args.i)
    ext = ext if ext in (".nii", ".nii.gz") else ".nii.gz"
    out = args.o or os.path.join(args.ofolder, f"{stem}_seg{ext}")
    ctl_path = os.path.join(os.path.dirname(out) or ".", f"{stem}_centerline{ext}")
    for path in [out] + ([ctl_path] if args.centerline_binary else []):
        check_not_input(path)  # before the work, not after it
    im = Image(args.i).require_3d("input image")
    init_ctl = Image(args.init_centerline) if args.init_centerline else None
    init_mask = Image(args.init_mask) if args.init_mask else None
    for name, guide in (("initial centerline", init_ctl), ("initial mask", init_mask)):
        if guide is not None:  # a guide outside the image would silently give nothing
            check_overlap(im, guide, names=("input image", name))
    seg, ctl = propseg(im, args.c, init_centerline=init_ctl, init_mask=init_mask, init_z=args.init,
                       radius=args.radius)
    seg.save(out)
    files = [args.i, out]
    if args.centerline_binary:
        ctl.save(ctl_path)
        files.append(ctl_path)
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(args.i, args.qc, process="sct_propseg", seg=out, command_line=" ".join(sys.argv),
                             dataset=args.qc_dataset, subject=args.qc_subject)
    display_viewer_syntax(files, colormaps=[None, "red", "green"][:len(files)],
                          opacities=[None, 0.7, 1.0][:len(files)], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
