"""sct_detect_pmj: detect the pontomedullary junction (PMJ)."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         input_folder, run_command)


def get_parser():
    parser = SCTArgumentParser(
        description="Detect the pontomedullary junction (PMJ) by matching the template's brainstem "
                    "region (around its PMJ label) with the image. Output: one voxel of value 50 "
                    "at the PMJ, <input>_pmj.nii.gz. Images whose field of view does not reach the "
                    "brainstem are refused (no output).")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True, help="Input image, e.g. t2.nii.gz")
    m.add_argument("-c", metavar="<str>", required=True, choices=["t1", "t2"],
                   help="Contrast of the input: t1 or t2.")
    o = parser.optional
    o.add_argument("-s", metavar="<file>", type=input_file,
                   help="Cord segmentation: the PMJ is searched near its top end.")
    o.add_argument("-t", metavar="<folder>", type=input_folder,
                   help="Template folder with the brainstem and a PMJ label (50). Default: PAM50.")
    o.add_argument("-ofolder", metavar="<folder>", default=".", help="Output folder. Default: current")
    o.add_argument("-o", metavar="<file>", help="Output file name. Default: <input>_pmj.nii.gz")
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.labeling.pmj import detect_pmj
    from spinalcordtoolbox.registration.template import load_template

    im, seg = Image(args.i), Image(args.s) if args.s else None  # inputs checked before the template
    out = detect_pmj(im, args.c, load_template(args.t), seg=seg)
    name = args.o or f"{split_ext(os.path.basename(args.i))[0]}_pmj.nii.gz"
    path = name if os.path.dirname(name) else os.path.join(args.ofolder, name)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    out.save(path)
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(args.i, args.qc, process="sct_detect_pmj", seg=path,
                    command_line=" ".join(sys.argv), dataset=args.qc_dataset, subject=args.qc_subject)
    display_viewer_syntax([args.i, path], colormaps=["gray", "red"], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
