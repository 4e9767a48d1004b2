"""sct_warp_template: warp the template and the white-matter atlas onto a subject."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         input_folder, run_command)


def get_parser():
    parser = SCTArgumentParser(
        description="Warp the template (cord, WM/GM/CSF maps, vertebral levels, disc labels...) "
                    "and the white-matter atlas onto a destination image, through a warping "
                    "field (e.g. warp_template2anat.nii.gz from sct_register_to_template). "
                    "Linear interpolation for images and probabilistic maps, nearest neighbour "
                    "for label maps, point moves for point labels. Writes <ofolder>/template/ "
                    "and <ofolder>/atlas/, each with an info_label.txt.")
    parser.mandatory.add_argument("-d", metavar="<file>", type=input_file, required=True,
                                  help="Destination image, defining the output grid.")
    parser.mandatory.add_argument("-w", metavar="<file>", type=input_file, required=True,
                                  help="Warping field template -> destination "
                                       "(e.g. warp_template2anat.nii.gz).")
    parser.optional.add_argument("-a", metavar="<int>", type=int, choices=[0, 1], default=1,
                                 help="Warp the white-matter atlas. Default: 1")
    parser.optional.add_argument("-s", metavar="<int>", type=int, choices=[0, 1], default=1,
                                 help="Warp the spinal levels (spinal_levels, spinal_midpoint), "
                                      "as the established toolbox does by default. Default: 1")
    parser.optional.add_argument("-t", metavar="<folder>", type=input_folder,
                                 help="Template folder. Default: the installed PAM50.")
    parser.optional.add_argument("-ofolder", metavar="<folder>", default="label",
                                 help="Output folder. Default: label")
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.registration.warp import read_warp
    from spinalcordtoolbox.registration.warp_template import warp_template
    from spinalcordtoolbox.registration.template import load_template

    dest = Image(args.d)
    read_warp(args.w)  # a corrupt, truncated or NaN field is refused before the template is located
    template = load_template(args.t)
    outputs = warp_template(dest, args.w, template, args.ofolder, atlas=bool(args.a),
                            spinal_levels=bool(args.s))
    cord = os.path.join(args.ofolder, "template", f"{template.prefix}_cord.nii.gz")
    levels = os.path.join(args.ofolder, "template", f"{template.prefix}_levels.nii.gz")
    if args.qc and os.path.isfile(cord):
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(args.d, args.qc, seg=cord, process="sct_warp_template",
                    command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                    subject=args.qc_subject)
    shown = [p for p in (cord, levels) if p in outputs.values()]
    display_viewer_syntax([args.d] + shown, colormaps=[None, "red", "subcortical"][:1 + len(shown)],
                          opacities=[None, 0.5, 0.5][:1 + len(shown)], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv, nonfinite={"-w": "keep"})


if __name__ == "__main__":
    main()
