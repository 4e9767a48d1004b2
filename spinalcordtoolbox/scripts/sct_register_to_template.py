"""sct_register_to_template: register an anatomical image to the spinal-cord template."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         input_folder, run_command)
from spinalcordtoolbox.registration.template import DEFAULT_REGISTRATION_PARAM as DEFAULT_PARAM


def get_parser():
    parser = SCTArgumentParser(
        description="Register an anatomical image to the spinal-cord template (PAM50 by default): "
                    "straightening along the cord centerline, alignment of labels along the cord "
                    "(one label: translation; two: translation + scaling; -ldisc: every disc "
                    "matched piecewise), then the -param registration steps. Writes "
                    "warp_anat2template.nii.gz, warp_template2anat.nii.gz, anat2template.nii.gz "
                    "and template2anat.nii.gz (anat2template and warp_anat2template on the "
                    "template's grid; outside the subject's coverage the field points out of the "
                    "image, so warped images are 0 there).")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, required=True,
                                  help="Anatomical image (3-D), e.g. t2.nii.gz")
    parser.mandatory.add_argument("-s", metavar="<file>", type=input_file, required=True,
                                  help="Spinal cord segmentation of -i.")
    labels = parser.mandatory.add_mutually_exclusive_group(required=True)
    labels.add_argument("-l", metavar="<file>", type=input_file,
                        help="One or two labels (preferred) at the centre of the cord on the "
                             "mid-vertebral slice (3 = middle of C3, 4 = middle of C4...), one "
                             "voxel each. Matched to the middle of the template's vertebral levels.")
    labels.add_argument("-ldisc", metavar="<file>", type=input_file,
                        help="Disc labels (3 = C2-C3 disc, 4 = C3-C4...) at the posterior tip of "
                             "the discs or projected on the cord; give every disc of the region: "
                             "each is matched to the template's piecewise along the cord.")
    labels.add_argument("-lspinal", metavar="<file>", type=input_file,
                        help="Spinal-level labels (midpoints, value = spinal level).")
    labels.add_argument("-lrootlet", metavar="<file>", type=input_file,
                        help="Rootlet segmentation with spinal levels as values.")
    parser.optional.add_argument("-c", choices=["t1", "t2", "t2s"], default="t2",
                                 help="Contrast of the template to register to. Default: t2")
    parser.optional.add_argument("-ref", choices=["template", "subject"], default="template",
                                 help="Space where the -param steps run. 'subject' (e.g. thick "
                                      "axial images) takes one or two labels. Default: template")
    parser.optional.add_argument("-param", metavar="<steps>",
                                 help=f"Registration steps (they replace the default steps with "
                                      f"the same number). Default: {DEFAULT_PARAM}")
    parser.optional.add_argument("-t", metavar="<folder>", type=input_folder,
                                 help="Template folder (with template/<prefix>_cord.nii.gz...). "
                                      "Default: the installed PAM50.")
    parser.optional.add_argument("-ofolder", metavar="<folder>", default=".",
                                 help="Output folder. Default: current folder")
    parser.add_qc_args()
    parser.add_common_args(remove_temp=True)
    return parser


def _run(args):
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.registration.to_template import register_to_template, save_registration
    from spinalcordtoolbox.registration.template import load_template

    option = next(k for k in ("l", "ldisc", "lspinal", "lrootlet") if getattr(args, k))
    # the user's files are read (and refused if unusable) before the template is located
    im, seg, labels = Image(args.i), Image(args.s), Image(getattr(args, option))
    template = load_template(args.t)
    result = register_to_template(
        im, seg, labels, label_option=option,
        contrast=args.c, template=template, ref=args.ref, param=args.param,
        remove_temp=bool(args.r))
    paths = save_registration(result, args.ofolder)
    if args.qc:
        from spinalcordtoolbox.registration.to_template import qc_images
        from spinalcordtoolbox.reports.qc import generate_qc
        fixed, moved = qc_images(result, Image(str(template.contrast(args.c))))
        generate_qc(fixed, args.qc, image2=moved, source=args.i,
                    process="sct_register_to_template", command_line=" ".join(sys.argv),
                    dataset=args.qc_dataset, subject=args.qc_subject)
    display_viewer_syntax([args.i, paths["template2anat"]], verbose=args.v)
    display_viewer_syntax([str(template.contrast(args.c)), paths["anat2template"]], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
