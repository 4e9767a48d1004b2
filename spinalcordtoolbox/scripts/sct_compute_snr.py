"""sct_compute_snr: signal-to-noise ratio in a mask (Dietrich et al. 2007)."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, list_type, run_command


def get_parser():
    parser = SCTArgumentParser(
        description="Compute the SNR in a mask with the methods of Dietrich et al., JMRI 2007. "
                    "diff: two repetitions (4-D image, -vol picks them; default the first two); "
                    "noise from their difference in the mask. mult: many repetitions (4-D; default "
                    "all volumes); voxel-wise mean/std over time, averaged in the mask (the SNR map is "
                    "saved as <input>_SNR-mult.nii.gz in the current folder). single: one volume "
                    "(3-D, or -vol on a 4-D image); signal in -m, noise std in -m-noise; use "
                    "-rayleigh 1 when the noise mask is in the background (air). Per-slice SNRs "
                    "are averaged over the slices of the mask (diff, single).")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True,
                   help="3-D or 4-D image. Example: dmri.nii.gz")
    o = parser.optional
    o.add_argument("-m", metavar="<file>", type=input_file, default=None,
                   help="Binary or weighted mask in which the SNR is averaged (needed by diff and "
                        "single).")
    o.add_argument("-m-noise", metavar="<file>", type=input_file, default=None, dest="m_noise",
                   help="Binary or weighted mask in which the noise is measured (-method single).")
    o.add_argument("-method", metavar="<str>", choices=("diff", "mult", "single"), default="diff",
                   help="diff, mult or single. Default: diff")
    o.add_argument("-vol", metavar="<str>", default=None,
                   help="Volumes, e.g. 0,1 or 2:50.")
    o.add_argument("-rayleigh", metavar="<int>", type=int, choices=[0, 1], default=1,
                   help="Correct the noise for its Rayleigh distribution (-method single with the "
                        "noise mask in the background). Default: 1")
    o.add_argument("-o", metavar="<file>", default=None, help="Text file to write the SNR to.")
    parser.add_common_args(remove_temp=True)   # -r kept for scripts written for the established tool
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, add_suffix
    from spinalcordtoolbox.metrics.snr import compute_snr
    from spinalcordtoolbox.shape.aggregate_slicewise import parse_range
    from spinalcordtoolbox.utils.cli import display_open
    from spinalcordtoolbox.utils.fs import atomic_write_text, check_not_input

    if args.o:
        check_not_input(args.o)
    vol = parse_range(args.vol, "volume list (-vol)") if args.vol else None
    opt = lambda path: Image(path) if path else None  # noqa: E731
    snr, snr_map = compute_snr(Image(args.i), opt(args.m), args.method, im_noise=opt(args.m_noise),
                               vol=vol, rayleigh=bool(args.rayleigh))
    if snr_map is not None:
        path = add_suffix(os.path.basename(args.i), "_SNR-mult")
        check_not_input(path)
        snr_map.save(path)
    if snr is not None:
        print(f"\nSNR_{args.method} = {snr}\n")
        if args.o:
            atomic_write_text(args.o, str(snr))
            display_open(args.o, "Saved")


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
