"""sct_dmri_denoise_patch2self: denoise a diffusion series with Patch2Self (dipy)."""
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file, list_type,
                                         run_command)


def get_parser():
    parser = SCTArgumentParser(
        description="Denoise a 4-D diffusion series with Patch2Self (Fadnavis et al., NeurIPS 2020, as "
                    "implemented in dipy): every volume is predicted from the other volumes by a "
                    "regression on their values at the same voxel (-radius 0); noise, independent "
                    "between volumes, is not predicted. Run it before motion correction.")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True, help="4-D diffusion image.")
    m.add_argument("-b", metavar="<file>", type=input_file, required=True, help="b-values (one per volume).")
    o = parser.optional
    o.add_argument("-model", metavar="<str>", default="ols",
                   help="Regression model: ols, ridge or lasso. Default: ols")
    o.add_argument("-radius", metavar="<int>[,<int>,<int>]", type=list_type(",", int), default=[0],
                   help="Patch radius in voxels. Only 0 (voxel-wise, dipy's current method) is supported: "
                        "dipy's patch-based version is unreliable. Default: 0")
    o.add_argument("-o", metavar="<file>",
                   help="Output. Default: <input>_patch2self.nii.gz in the current folder.")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.dmri.denoise import MODELS, denoise_patch2self
    from spinalcordtoolbox.dmri.gradients import read_bvals
    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.model not in MODELS:
        raise choice_error("model (-model)", args.model, MODELS)
    if len(args.radius) not in (1, 3) or min(args.radius) < 0:
        raise ValueError(f"-radius takes one or three non-negative integers, got {args.radius}")
    radius = args.radius * 3 if len(args.radius) == 1 else args.radius
    out = args.o or split_ext(args.i)[0] + "_patch2self.nii.gz"
    check_not_input(out)
    denoised = denoise_patch2self(Image(args.i), read_bvals(args.b), args.model, radius, bvals_path=args.b)
    denoised.save(out)
    display_viewer_syntax([args.i, out], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
