"""Command-line options of the commands that split a diffusion series into b=0 and DW volumes
(light: imported by -h)."""
from spinalcordtoolbox.utils.cli import input_file


def add_series_args(parser):
    """-i, -bvec (mandatory), -bval, -bvalmin (optional)."""
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True, help="4-D diffusion series.")
    m.add_argument("-bvec", metavar="<file>", type=input_file, required=True,
                   help="b-vectors: FSL layout (3 rows) or one row of 3 values per volume. b=0 volumes "
                        "are those with a zero direction, unless -bval is given.")
    o = parser.optional
    o.add_argument("-bval", metavar="<file>", type=input_file,
                   help="b-values (one per volume); then b=0 volumes are those with b <= -bvalmin.")
    o.add_argument("-bvalmin", metavar="<float>", type=float,
                   help="b-value (s/mm2) at or below which a volume counts as b=0 (with -bval). Default: 0")


def read_gradients(args):
    """(bvecs (N, 3), bvals (N,) or None) from the options of :func:`add_series_args`."""
    from spinalcordtoolbox.dmri.gradients import read_bvals, read_bvecs

    if args.bvalmin is not None and not args.bval:
        raise ValueError("-bvalmin needs the b-values (-bval)")
    return read_bvecs(args.bvec), read_bvals(args.bval) if args.bval else None
