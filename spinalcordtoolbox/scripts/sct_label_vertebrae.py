"""sct_label_vertebrae: label a spinal cord segmentation by vertebral level."""
import argparse
import shlex
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         input_folder, run_command)


def _initz(text):
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return [int(parts[0]), int(parts[1])]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected <z>,<disc value>, e.g. 34,3 (slice 34 is the C2/C3 disc), got '{text}'") from None


def get_parser():
    parser = SCTArgumentParser(
        description="Label the vertebral levels of a spinal cord segmentation. The cord is "
                    "straightened along the segmentation and its intervertebral discs found by "
                    "matching the PAM50 template's disc pattern disc by disc, from a known disc "
                    "(-initz, -initcenter, -initfile, -initlabel) or from the C2/C3 disc found "
                    "automatically (it must be in the field of view; the command refuses when "
                    "the match is not confident). With -discfile, levels come from the given disc labels.\n"
                    "Outputs: <seg>_labeled.nii.gz (each cord voxel = its level, C3 -> 3), "
                    "<seg>_labeled_discs.nii.gz (one voxel per disc at its posterior tip, "
                    "C2/C3 -> 3; with detection, also 50 at the PMJ when the image reaches the brainstem), "
                    "straight_ref.nii.gz, warp_curve2straight.nii.gz, "
                    "warp_straight2curve.nii.gz and straightening.cache (re-used while the image and "
                    "segmentation are unchanged).")
    m = parser.mandatory
    m.add_argument("-i", metavar="<file>", type=input_file, required=True, help="Input image, e.g. t2.nii.gz")
    m.add_argument("-s", metavar="<file>", type=input_file, required=True,
                   help="Spinal cord segmentation (or centerline) on the input's grid.")
    m.add_argument("-c", metavar="<str>", required=True, choices=["t1", "t2", "t2s"],
                   help="Contrast of the input (template image used for matching): t1, t2, t2s.")
    o = parser.optional
    o.add_argument("-t", metavar="<folder>", type=input_folder,
                   help="Template folder. Default: the installed PAM50.")
    o.add_argument("-initz", metavar="<z>,<disc>", type=_initz,
                   help="Known disc: RPI slice and disc value, e.g. 34,3 (slice 34 = C2/C3 disc).")
    o.add_argument("-initcenter", metavar="<int>", type=int,
                   help="Value of the disc nearest the middle slice of the field of view, e.g. 4.")
    o.add_argument("-initfile", metavar="<file>", type=input_file,
                   help="Text file holding '-initz <z>,<disc>' or '-initcenter <disc>'.")
    o.add_argument("-initlabel", metavar="<file>", type=input_file,
                   help="Image with one disc label (value = disc, e.g. 3 at the C2/C3 disc).")
    o.add_argument("-discfile", metavar="<file>", type=input_file,
                   help="Disc labels (3 = C2/C3...): label the segmentation from them, no detection.")
    o.add_argument("-ofolder", metavar="<folder>", default=".", help="Output folder. Default: current")
    o.add_argument("-denoise", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="Median-filter the image before matching. Default: 0")
    o.add_argument("-laplacian", metavar="<int>", type=int, choices=[0, 1], default=0,
                   help="Match the Laplacian of the image (edges) instead of intensities. Default: 0")
    o.add_argument("-clean-labels", metavar="<int>", type=int, choices=[0, 1, 2], default=1,
                   help="Accepted for compatibility: the labeled segmentation is always made of "
                        "exactly the segmentation's voxels. Default: 1")
    o.add_argument("-scale-dist", metavar="<float>", type=float, default=1.0,
                   help="Scale applied to the template's inter-disc distances (e.g. 0.8 for a "
                        "child). Default: 1")
    o.add_argument("-param", metavar="<key=val,...>",
                   help="Matching parameters (mm): shift_AP, size_AP, size_RL, size_IS, "
                        "gaussian_std, search, prior, min_score, min_margin.")
    parser.add_qc_args()
    parser.add_common_args(remove_temp=True)
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.labeling import vertebrae
    from spinalcordtoolbox.utils.cli import SCTError

    inits = [x for x in ("initz", "initcenter", "initfile", "initlabel") if getattr(args, x) is not None]
    if len(inits) > 1:
        raise SCTError(f"Give one initialisation, got {', '.join('-' + x for x in inits)}")
    if args.discfile and inits:
        raise SCTError("-discfile labels from the given discs: it does not take -init* options")
    im, seg = Image(args.i), Image(args.s)
    os.makedirs(args.ofolder, exist_ok=True)
    stem = split_ext(os.path.basename(args.s))[0]
    out_seg = os.path.join(args.ofolder, f"{stem}_labeled.nii.gz")
    out_discs = os.path.join(args.ofolder, f"{stem}_labeled_discs.nii.gz")
    init = None
    if args.initz:
        init = vertebrae.Init(value=args.initz[1], z=args.initz[0])
    elif args.initcenter is not None:
        init = vertebrae.Init(value=args.initcenter, center=True)
    elif args.initfile:
        with open(args.initfile, encoding="utf-8") as f:
            init = vertebrae.parse_init_text(f.read())
    elif args.initlabel:
        init = vertebrae.Init(value=0, label=Image(args.initlabel))
    result = vertebrae.label(
        im, seg, args.c, template_folder=args.t, init=init,
        discs=Image(args.discfile) if args.discfile else None,
        params=vertebrae.LabelingParams.parse(args.param), scale_dist=args.scale_dist,
        denoise=bool(args.denoise), laplacian=bool(args.laplacian), ofolder=args.ofolder)
    result.labeled_seg.save(out_seg)
    result.discs.save(out_discs)
    if result.detection is not None and args.v > 0:
        if result.detection.auto_margin is not None:
            print(f"C2-C3 disc found automatically (confidence: the alignment with the template "
                  f"beats any naming half a level or more away by {result.detection.auto_margin:.2f}; "
                  f"refused below {vertebrae.LabelingParams.parse(args.param).min_margin:.2f})")
        print("Discs found (value: z of the input, RPI): " + ", ".join(
            f"{v}: {z}" for v, z in vertebrae.disc_slices(result.discs)))
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(args.i, args.qc, process="sct_label_vertebrae", seg=out_discs,
                    command_line=" ".join(sys.argv), dataset=args.qc_dataset, subject=args.qc_subject)
    display_viewer_syntax([args.i, out_seg], colormaps=["gray", "subcortical"], opacities=[1, 0.7],
                          verbose=args.v)


def _split_init_tokens(argv):
    """Let '"$(< init_label_vertebrae.txt)"' through: the shell passes '-initz 34,3' as one word."""
    argv = list(sys.argv[1:] if argv is None else argv)
    out = []
    for token in argv:
        if token.startswith("-init") and " " in token.strip():
            out.extend(shlex.split(token))
        else:
            out.append(token)
    return out


def main(argv=None):
    return run_command(get_parser(), _run, _split_init_tokens(argv))


if __name__ == "__main__":
    main()
