"""sct_denoising_onlm: non-local means denoising of an image (dipy)."""
import sys

from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Denoise an image with the adaptive non-local means filter of Coupé et al. as "
                    "implemented in dipy (the same filter as sct_maths -denoise).")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Input image (3-D). Example: t2.nii.gz")
    parser.optional.add_argument("-p", choices=("Rician", "Gaussian"), default="Rician",
                                 help="Noise distribution assumed. Default: Rician")
    parser.optional.add_argument("-d", metavar="<float>", type=float, default=80,
                                 help="Values below this are background: the noise standard deviation is "
                                      "theirs (unless -std is given). Default: 80")
    parser.optional.add_argument("-std", metavar="<float>", type=float,
                                 help="Noise standard deviation (skips its estimation).")
    parser.optional.add_argument("-patch-radius", metavar="<int>", type=int, default=1,
                                 help="Patch radius [voxels]. Default: 1")
    parser.optional.add_argument("-block-radius", metavar="<int>", type=int, default=5,
                                 help="Search block radius [voxels] (lowered for small images). Default: 5")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output image. Default: <input>_denoised.nii.gz in the current folder.")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    import numpy as np

    from spinalcordtoolbox.processing import maths
    from spinalcordtoolbox.image import Image, add_suffix, empty_like
    from spinalcordtoolbox.utils.fs import check_not_input

    out_path = args.o or add_suffix(os.path.basename(args.i), "_denoised")
    check_not_input(out_path)
    img = Image(args.i).require_3d("input image")
    if args.patch_radius < 1 or args.block_radius < 1:
        raise ValueError("-patch-radius and -block-radius must be >= 1")
    sigma = args.std if args.std is not None else maths.noise_sigma(img.data, below=args.d)
    if sigma <= 0:
        raise ValueError(f"The noise standard deviation must be > 0 (got {sigma:g}): give -std")
    print(f"Noise standard deviation: {sigma:.4g}")
    data = maths.denoise_nlmeans(img.data, args.patch_radius, args.block_radius, sigma=sigma,
                                 rician=(args.p == "Rician"))
    empty_like(img, data.astype(np.float32)).save(out_path)
    display_viewer_syntax([args.i, out_path], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    sys.exit(main())
