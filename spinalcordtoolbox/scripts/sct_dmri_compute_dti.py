"""sct_dmri_compute_dti: diffusion tensor maps (FA, MD, AD, RD) with dipy."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command

METHODS = ("standard", "restore")


def get_parser():
    parser = SCTArgumentParser(
        description="Fit the diffusion tensor in every voxel (dipy's TensorModel) and write its maps: "
                    "<prefix>FA, <prefix>MD, <prefix>AD, <prefix>RD (diffusivities in mm2/s for "
                    "b-values in s/mm2). Use the motion-corrected series (sct_dmri_moco).")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True, help="4-D diffusion image.")
    m.add_argument("-bval", metavar="<file>", type=input_file, required=True, help="b-values (s/mm2).")
    m.add_argument("-bvec", metavar="<file>", type=input_file, required=True,
                   help="b-vectors (FSL 3-row layout or one row of 3 per volume).")
    o = parser.optional
    o.add_argument("-method", metavar="<str>", default="standard",
                   help="standard: weighted least squares; restore: RESTORE, robust to outlier volumes "
                        "(noise level estimated from the data). Default: standard")
    o.add_argument("-evecs", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="Also write the eigenvectors <prefix>V1..V3 and eigenvalues <prefix>L1..L3. "
                        "Default: 0")
    o.add_argument("-m", metavar="<file>", type=input_file,
                   help="Mask on the image's grid: fit only inside (faster); 0 outside.")
    o.add_argument("-o", metavar="<str>", default="dti_",
                   help="Output prefix (may include a folder). Default: dti_")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.dmri.dti import compute_dti
    from spinalcordtoolbox.dmri.gradients import read_bvals, read_bvecs
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.utils.cli import choice_error
    from spinalcordtoolbox.utils.fs import check_not_input

    if args.method not in METHODS:
        raise choice_error("method (-method)", args.method, METHODS)
    names = ["FA", "MD", "AD", "RD"] + (["V1", "V2", "V3", "L1", "L2", "L3"] if args.evecs else [])
    paths = {n: f"{args.o}{n}.nii.gz" for n in names}
    for p in paths.values():
        check_not_input(p)
    maps = compute_dti(Image(args.i), read_bvals(args.bval), read_bvecs(args.bvec), method=args.method,
                       mask=Image(args.m) if args.m else None, evecs=bool(args.evecs),
                       bvals_path=args.bval, bvecs_path=args.bvec)
    if os.path.dirname(args.o):
        os.makedirs(os.path.dirname(args.o), exist_ok=True)
    for n in names:
        maps[n].save(paths[n])
    display_viewer_syntax([paths["FA"]], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
