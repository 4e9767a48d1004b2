"""sct_dmri_moco: slice-wise motion correction of a diffusion series."""
from spinalcordtoolbox.dmri.options import add_series_args
from spinalcordtoolbox.moco.options import add_moco_args, finish_moco
from spinalcordtoolbox.utils.cli import SCTArgumentParser, run_command

def get_parser():
    from spinalcordtoolbox.moco.param import DMRI_DEFAULT

    parser = SCTArgumentParser(
        description="Motion correction of a 4-D diffusion series. The b=0 and the diffusion-weighted "
                    "(DW) volumes are corrected separately: successive volumes are averaged in groups "
                    "(-g), each group is registered to the first group of its kind with one in-plane "
                    "translation per axial slice, regularised along z by a polynomial, and the "
                    "translations are applied to every volume of the group. Outputs (in -ofolder): "
                    "<input>_moco, <input>_moco_b0_mean, <input>_moco_dwi_mean, moco_params.tsv (mean "
                    "X, Y translation of each volume, mm) and moco_params_x/y.nii.gz (per slice and "
                    "volume).")
    add_series_args(parser)
    add_moco_args(parser, group_default=3, default=DMRI_DEFAULT)
    parser.add_qc_args(seg=True)
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.dmri.options import read_gradients
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.moco.engine import dmri_moco
    from spinalcordtoolbox.moco.param import DMRI_DEFAULT, parse_moco_param

    bvecs, bvals = read_gradients(args)
    param = parse_moco_param(args.param, DMRI_DEFAULT)
    im = Image(args.i)
    out = dmri_moco(im, bvecs, bvals, args.bvalmin, args.g, param, Image(args.m) if args.m else None, args.x,
                    bvecs_path=args.bvec, bvals_path=args.bval)
    finish_moco(args, "sct_dmri_moco", im, out,
                {"_moco": "moco", "_moco_b0_mean": "b0_mean", "_moco_dwi_mean": "dwi_mean"})


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
