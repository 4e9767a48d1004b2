"""sct_fmri_moco: slice-wise motion correction of an fMRI series."""
from spinalcordtoolbox.moco.options import add_moco_args, finish_moco
from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, run_command


def get_parser():
    from spinalcordtoolbox.moco.param import FMRI_DEFAULT

    parser = SCTArgumentParser(
        description="Motion correction of a 4-D fMRI series: successive volumes are averaged in groups "
                    "(-g), each group is registered to the first group with one in-plane translation "
                    "per axial slice, regularised along z by a polynomial, and the translations are "
                    "applied to every volume of the group. Outputs (in -ofolder): <input>_moco, "
                    "<input>_moco_mean, moco_params.tsv (mean X, Y translation of each volume, mm) and "
                    "moco_params_x/y.nii.gz (per slice and volume).")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="4-D fMRI series.")
    add_moco_args(parser, group_default=1, default=FMRI_DEFAULT)
    parser.add_qc_args(seg=True)
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.moco.engine import fmri_moco
    from spinalcordtoolbox.moco.param import FMRI_DEFAULT, parse_moco_param

    param = parse_moco_param(args.param, FMRI_DEFAULT)
    im = Image(args.i)
    out = fmri_moco(im, args.g, param, Image(args.m) if args.m else None, args.x)
    finish_moco(args, "sct_fmri_moco", im, out, {"_moco": "moco", "_moco_mean": "mean"})


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
