"""sct_fmri_compute_tsnr: temporal signal-to-noise ratio of an fMRI series."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, display_viewer_syntax, input_file, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the temporal SNR (tSNR) of a 4-D series: mean over time divided by the "
                    "standard deviation over time (sample std, n-1), voxel by voxel. Voxels whose "
                    "signal is constant (std = 0) get 0. To compare the tSNR before and after motion "
                    "correction: sct_qc -i <in>_tsnr.nii.gz -d <in>_moco_tsnr.nii.gz "
                    "-s <seg> -p sct_fmri_compute_tsnr -qc <folder>")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="4-D fMRI series.")
    parser.optional.add_argument("-o", metavar="<file>",
                                 help="Output tSNR map. Default: <input>_tsnr.nii.gz in the current folder.")
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.fmri.tsnr import compute_tsnr
    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.utils.fs import check_not_input

    out = args.o or split_ext(args.i)[0] + "_tsnr.nii.gz"
    check_not_input(out)
    compute_tsnr(Image(args.i)).save(out)
    display_viewer_syntax([out], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
