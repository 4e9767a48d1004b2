"""sct_deepseg_gm: spinal-cord gray-matter segmentation with the deepseg_gm networks."""
import sys

from spinalcordtoolbox.pretrained.options import add_device_arg
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, float_in_range,
                                         input_file, run_command)

MODELS = ("large", "challenge")


def get_parser():
    parser = SCTArgumentParser(
        description="Segment the spinal cord gray matter of an axial T2*-weighted image (or similar "
                    "contrast: GM bright) with the deepseg_gm dilated convolutional network "
                    "(Perone et al., Sci Rep 2018). Slices are taken along the inferior-superior "
                    "axis, resampled to 0.25 mm in-plane and segmented (slices wider than "
                    "50 mm are cropped to a 50 mm window centred on the cord); the mask is returned "
                    "on the input's grid.")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Input image (3-D, axial slices), e.g. t2s.nii.gz")
    o = parser.optional
    o.add_argument("-o", metavar="<file>",
                   help="Output file. Default: <input>_gmseg.nii.gz in the current folder.")
    o.add_argument("-m", metavar="<str>", default="large",
                   help="Model: 'large' (trained on 232 subjects, healthy and pathological; slower) "
                        "or 'challenge' (GM challenge data, healthy; ~3x faster). Default: large")
    o.add_argument("-thr", metavar="<float>", type=float_in_range(0, 1), default=0.999,
                   help="Threshold applied to the predicted probabilities; 0 writes the probability "
                        "map instead of a mask. Default: 0.999")
    o.add_argument("-t", action="store_true",
                   help="Test-time augmentation: average 9 runs with random intensity offsets "
                        "(seeded, reproducible). Slower, slightly more robust.")
    add_device_arg(o)
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.pretrained.gm import segment_gm
    from spinalcordtoolbox.pretrained.options import check_device
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.m not in MODELS:
        raise choice_error("model (-m)", args.m, MODELS)
    check_device(args.device)
    if not 0 <= args.thr < 1:
        raise ValueError(f"-thr must be in [0, 1), got {args.thr}")
    out = args.o or split_ext(args.i)[0] + "_gmseg.nii.gz"
    check_not_input(out)
    gm = segment_gm(Image(args.i), model=args.m, threshold=args.thr, tta=args.t, device=args.device)
    gm.save(out)
    if args.thr > 0:
        print(f"Gray matter: {int(gm.data.sum())} voxels")
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        # gray matter is a few mm across: 24 mm tiles at 0.1 mm/pixel (240 px) show its boundary
        entry = generate_qc(args.i, args.qc, process="sct_deepseg_gm", seg=out, plane="axial",
                            command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                            subject=args.qc_subject, fov_mm=24.0, resolution=0.1)
        print(f"QC entry: {entry}")
    display_viewer_syntax([args.i, out], colormaps=["gray", "red-yellow"], opacities=[1.0, 0.7],
                          verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
