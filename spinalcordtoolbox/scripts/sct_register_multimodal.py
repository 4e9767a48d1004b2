"""sct_register_multimodal: register a source image onto a destination image (multi-step)."""
from spinalcordtoolbox.utils.cli import SCTArgumentParser, input_file, run_command

PARAM_HELP = """Registration steps, separated by ':'; each a comma-separated list
of key=value. Default: step=1,type=im,algo=syn,metric=MeanSquares,
  iter=10,shrink=1,smooth=0,gradStep=0.5
  step: step number (1, 2...; step 0 = header-based initialisation, always
    done)
  type: im (images), seg (segmentations, needs -iseg/-dseg), imseg, label
    (-ilabel/-dlabel)
  algo: translation, rigid, affine, syn, bsplinesyn (ANTs); slicereg
    (slice-wise translations regularised along z by a polynomial);
    centermass, centermassrot (per-slice centre of mass [+ rotation] of
    segmentations); columnwise
  metric: CC, MI, MeanSquares (default MeanSquares)
  iter (10), shrink (1), smooth (0, mm), gradStep (0.5), deformation
    (1x1x0: no deformation along z), poly (5, slicereg), smoothWarpXY (2,
    columnwise), pca_eigenratio_th (1.6), filter_size (5), slicewise (0|1)
  rot_method (centermassrot): pca (default: principal axes of the
    segmentations), hog (symmetry axis of the image gradients around the
    cord; needs type=imseg), pcahog (pca where the section is elongated,
    i.e. eigenvalue ratio >= pca_eigenratio_th, hog elsewhere; type=imseg)
Example:
  step=1,type=seg,algo=centermass:step=2,type=seg,algo=bsplinesyn,iter=5"""


def get_parser():
    parser = SCTArgumentParser(
        description="Register a source image (-i) onto a destination image (-d), e.g. an MT or "
                    "DWI volume onto an anatomical image, in one or more steps. Writes the "
                    "source moved onto the destination, the destination moved onto the source, "
                    "and the two ITK warping fields.")
    m, o = parser.mandatory, parser.optional
    m.add_argument("-i", metavar="<file>", required=True, type=input_file, help="Source image.")
    m.add_argument("-d", metavar="<file>", required=True, type=input_file, help="Destination image.")
    o.add_argument("-iseg", metavar="<file>", type=input_file, help="Segmentation of the source.")
    o.add_argument("-dseg", metavar="<file>", type=input_file, help="Segmentation of the destination.")
    o.add_argument("-ilabel", metavar="<file>", type=input_file, help="Point labels on the source.")
    o.add_argument("-dlabel", metavar="<file>", type=input_file,
                   help="Point labels on the destination (same values as -ilabel).")
    o.add_argument("-m", metavar="<file>", type=input_file,
                   help="Mask on the destination grid restricting the similarity metric.")
    o.add_argument("-initwarp", metavar="<file>", type=input_file,
                   help="Initial transformation applied to the source before the steps.")
    o.add_argument("-initwarpinv", metavar="<file>", type=input_file,
                   help="Inverse of -initwarp (computed numerically if absent).")
    o.add_argument("-param", metavar="<steps>", help=PARAM_HELP)
    o.add_argument("-identity", type=int, choices=(0, 1), default=0,
                   help="1: only put the source into the destination space (headers). Default: 0")
    o.add_argument("-x", choices=("nn", "linear", "spline"), default="linear",
                   help="Interpolation of the output images. Default: linear")
    o.add_argument("-o", metavar="<file>", help="Name of the registered source (the destination "
                   "moved onto the source is then <o>_inv). Default: <src>_reg, <dest>_reg")
    o.add_argument("-owarp", metavar="<file>", help="Name of the forward warp. Default: warp_<src>2<dest>")
    o.add_argument("-owarpinv", metavar="<file>",
                   help="Name of the inverse warp. Default: warp_<dest>2<src>")
    o.add_argument("-ofolder", metavar="<folder>", default=".", help="Output folder. Default: .")
    parser.add_qc_args()
    parser.add_common_args(remove_temp=True)
    return parser


def _run(args):
    import os
    import sys

    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.registration.engine import register
    from spinalcordtoolbox.registration.param import DEFAULT_MULTIMODAL, parse_param
    from spinalcordtoolbox.registration.warp import write_warp
    from spinalcordtoolbox.utils.cli import display_viewer_syntax
    from spinalcordtoolbox.utils.fs import check_not_input

    steps = parse_param(args.param or DEFAULT_MULTIMODAL)
    src_name, dest_name = split_ext(args.i)[0], split_ext(args.d)[0]
    folder = args.ofolder

    def out(name, default):
        return os.path.join(folder, name or default)

    # as the established tool: -o names the moved source, and the moved destination <o>_inv
    o_stem, o_ext = split_ext(args.o) if args.o else (None, None)
    o_stem = os.path.join(os.path.dirname(args.o), o_stem) if args.o else None
    paths = {"src_reg": out(args.o, f"{src_name}_reg.nii.gz"),
             "dest_reg": out(f"{o_stem}_inv{o_ext or '.nii.gz'}" if args.o else None,
                             f"{dest_name}_reg.nii.gz"),
             "warp": out(args.owarp, f"warp_{src_name}2{dest_name}.nii.gz"),
             "warpinv": out(args.owarpinv, f"warp_{dest_name}2{src_name}.nii.gz")}
    for p in paths.values():  # fail before any work, not after minutes of registration
        check_not_input(p)
    load = lambda p: Image(p) if p else None
    src, dest = Image(args.i), Image(args.d)
    result = register(src, dest, steps, src_seg=load(args.iseg), dest_seg=load(args.dseg),
                      src_label=load(args.ilabel), dest_label=load(args.dlabel), mask=load(args.m),
                      init_warp=[args.initwarp] if args.initwarp else None,
                      init_warp_inv=[args.initwarpinv] if args.initwarpinv else None,
                      identity=bool(args.identity), interp=args.x, remove_temp=bool(args.r))
    write_warp(result.warp_forward, dest, paths["warp"])
    write_warp(result.warp_inverse, src, paths["warpinv"])
    result.src_reg.save(paths["src_reg"])
    result.dest_reg.save(paths["dest_reg"])
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(dest, args.qc, process="sct_register_multimodal", image2=result.src_reg,
                    seg=load(args.dseg), command_line=" ".join(sys.argv),
                    dataset=args.qc_dataset, subject=args.qc_subject)
    display_viewer_syntax([args.d, paths["src_reg"]], verbose=args.v)
    display_viewer_syntax([args.i, paths["dest_reg"]], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite={"-initwarp": "keep", "-initwarpinv": "keep"})


if __name__ == "__main__":
    main()
