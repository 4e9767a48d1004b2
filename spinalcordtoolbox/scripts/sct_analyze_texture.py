"""sct_analyze_texture: GLCM texture features (contrast, homogeneity...) per voxel within a mask."""
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file, list_type,
                                         run_command)

FEATURES = "contrast,dissimilarity,homogeneity,energy,correlation,ASM"


def get_parser():
    parser = SCTArgumentParser(
        description="Grey-level co-occurrence matrix (GLCM) texture features, as defined by "
                    "scikit-image's graycoprops, computed at every voxel whose in-plane window "
                    "(2 x distance + 1 voxels wide) lies inside the mask. Writes one image per feature "
                    "and angle, <input>_<feature>_<distance>_<angle>.nii.gz, and the mean over angles, "
                    "<input>_<feature>_<distance>_mean.nii.gz. Grey levels: integer images in 0..255 "
                    "are used as is, others are rescaled to 0..255 over their range in the mask.")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True,
                   help="Image to analyse. Example: t2.nii.gz")
    m.add_argument("-m", metavar="<file>", type=input_file, required=True,
                   help="Mask (non-zero voxels). Example: t2_seg.nii.gz")
    o = parser.optional
    o.add_argument("-feature", metavar="<str>", default=FEATURES,
                   help=f"GLCM features, separated with ','. Default: {FEATURES}")
    o.add_argument("-distance", metavar="<int>", type=int, default=1,
                   help="Distance between the paired voxels, in voxels (1 to 5 suggested). Default: 1")
    o.add_argument("-angle", metavar="<list>", type=list_type(",", float), default=[0, 45, 90, 135],
                   help="Angles [deg] of the pairs, separated with ','. Default: 0,45,90,135")
    o.add_argument("-dim", metavar="<str>", choices=("ax", "sag", "cor"), default="ax",
                   help="Compute in axial (ax), sagittal (sag) or coronal (cor) slices. Default: ax")
    o.add_argument("-ofolder", metavar="<folder>", default="texture",
                   help="Output folder. Default: ./texture")
    parser.add_common_args(remove_temp=True)
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, add_suffix
    from spinalcordtoolbox.metrics.texture import compute_texture
    from spinalcordtoolbox.utils.fs import check_not_input

    angles = [int(a) if float(a).is_integer() else a for a in args.angle]
    maps = compute_texture(Image(args.i), Image(args.m), features=args.feature.split(","),
                           distance=args.distance, angles=angles, dim=args.dim)
    name = os.path.basename(args.i)
    paths = []
    for (feature, angle), im in maps.items():
        path = os.path.join(args.ofolder, add_suffix(name, f"_{feature}_{args.distance}_{angle}"))
        check_not_input(path)
        paths.append(path)
    # all computed: write only now, so that a failure leaves no partial set of files
    for path, im in zip(paths, maps.values()):
        im.save(path, verbose=False)
    means = [p for p in paths if p.endswith("_mean.nii.gz") or p.endswith("_mean.nii")]
    display_viewer_syntax([args.i] + means, colormaps=[None] + ["red-yellow"] * len(means),
                          opacities=[None] + [0.7] * len(means), verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
