"""sct_label_utils: create, inspect and edit point labels and vertebral labelling."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, finite_float,
                                         finite_list, input_file, list_type, run_command)

OPS = ("create", "create_add", "create_seg", "create_seg_mid", "cubic_to_point", "disc", "display",
       "increment", "keep", "remove", "remove_reference", "project_centerline", "vert_body",
       "vert_continuous", "MSE", "create_viewer")


def get_parser():
    parser = SCTArgumentParser(
        description="Utilities for point labels (one voxel per label, value = label id: 3 = C2-C3 "
                    "disc, 4 = C3-C4...). Coordinates are voxel indices of the image as stored; "
                    "'z' of -create-seg is the slice of the RPI-reoriented image. One operation per call.")
    parser.mandatory.add_argument("-i", metavar="<file>", required=True, type=input_file,
                                  help="Input image (labels, segmentation or image defining the grid).")
    ops = parser.add_argument_group("LABEL OPERATIONS")
    ops.add_argument("-create", metavar="<x,y,z,v:...>",
                     help="Create labels on the grid of -i, e.g. 12,34,32,1:12,35,33,2.")
    ops.add_argument("-create-add", metavar="<x,y,z,v:...>", help="Add labels to those of -i.")
    ops.add_argument("-create-seg", metavar="<z,v:...>",
                     help="Labels at the cord centre of slices z of the segmentation -i (z=-1: the image's mid "
                          "slice), e.g. 5,1:14,2.")
    ops.add_argument("-create-seg-mid", metavar="<int>", type=finite_float,
                     help="One label of this value on the cord (centre of mass) in the image's middle "
                          "I-S slice, round(nz/2), as the established toolbox.")
    ops.add_argument("-cubic-to-point", action="store_true",
                     help="Reduce each label blob to one voxel at its centre of mass.")
    ops.add_argument("-disc", metavar="<file>", type=input_file,
                     help="Disc labels: label the segmentation -i by vertebral level.")
    ops.add_argument("-display", action="store_true", help="Print the labels as x,y,z,v:x,y,z,v.")
    ops.add_argument("-increment", action="store_true",
                     help="Renumber labels 1, 2, 3... from the most superior one down.")
    ops.add_argument("-keep", metavar="<v1,v2>", type=finite_list(",", float), help="Keep only these labels.")
    ops.add_argument("-remove", metavar="<v1,v2>", type=finite_list(",", float), help="Remove these labels.")
    ops.add_argument("-remove-reference", metavar="<file>", type=input_file,
                     help="Remove the labels whose value is absent from this reference.")
    ops.add_argument("-project-centerline", metavar="<file>", type=input_file,
                     help="Move each label to the nearest point of this segmentation's centerline.")
    ops.add_argument("-vert-body", metavar="<int list>", type=list_type(",", int),
                     help="From the labeled segmentation -i, one point at the middle of each listed "
                          "level (0: all levels).")
    ops.add_argument("-vert-continuous", action="store_true",
                     help="Labeled segmentation -i -> continuous levels (3.0 top of C3 ... 4.0).")
    ops.add_argument("-MSE", metavar="<file>", type=input_file,
                     help="Print the distances (mm) between labels of -i and this reference.")
    ops.add_argument("-create-viewer", metavar="<v1,v2>", type=list_type(",", int),
                     help="Place these labels by clicking in a sagittal viewer window, e.g. 3,4,5.")
    parser.optional.add_argument("-msg", metavar="<str>", default="",
                                 help="Message shown at the top of the -create-viewer window.")
    parser.optional.add_argument("-o", metavar="<file>", default="labels.nii.gz",
                                 help="Output image. Default: labels.nii.gz")
    parser.add_qc_args()
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.labeling import labels
    from spinalcordtoolbox.image import Image

    given = [op for op in OPS if getattr(args, op) not in (None, False)]
    if len(given) != 1:
        raise ValueError("Give exactly one operation (see -h)" if not given else
                         f"Give one operation per call, got {', '.join('-' + g.replace('_', '-') for g in given)}")
    op = given[0]
    img = Image(args.i)
    if op == "display":
        print(labels.display_text(img))
        return
    if op == "MSE":
        res = labels.label_distance_errors(img, Image(args.MSE))
        for v, d in res["per_label"].items():
            print(f"Label {v}: {d:.3f} mm")
        print(f"MSE (root mean squared distance): {res['rms']:.3f} mm; max: {res['max']:.3f} mm")
        if res["missing"]:
            print(f"Labels in only one image: {', '.join(str(v) for v in res['missing'])}")
        return
    if op == "create":
        out = labels.create_labels(img, labels.parse_points(args.create, 3))
    elif op == "create_add":
        out = labels.create_labels(img, labels.parse_points(args.create_add, 3), add_to=img)
    elif op == "create_seg":
        out = labels.create_labels_along_seg(img, [p for p in labels.parse_points(args.create_seg, 1)])
    elif op == "create_seg_mid":
        out = labels.create_labels_along_seg(img, [(-1, args.create_seg_mid)])
    elif op == "cubic_to_point":
        out = labels.cubic_to_point(img)
    elif op == "disc":
        out = labels.labelize_from_discs(img, Image(args.disc))
    elif op == "increment":
        out = labels.increment(img)
    elif op == "keep":
        out = labels.keep_labels(img, args.keep)
    elif op == "remove":
        out = labels.remove_labels(img, args.remove)
    elif op == "remove_reference":
        out = labels.remove_missing_from_reference(img, Image(args.remove_reference))
    elif op == "project_centerline":
        out = labels.project_on_centerline(img, Image(args.project_centerline))
    elif op == "create_viewer":
        from spinalcordtoolbox.labeling.viewer import pick_points
        out = pick_points(img, args.create_viewer, args.msg)
    elif op == "vert_body":
        out = labels.vertebral_body_points(img, args.vert_body)
    else:
        out = labels.continuous_vertebral_levels(img)
    out.save(args.o)
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        generate_qc(args.i, args.qc, process="sct_label_utils", seg=args.o,
                    command_line=" ".join(["sct_label_utils"] + sys.argv[1:]), dataset=args.qc_dataset,
                    subject=args.qc_subject)
    display_viewer_syntax([args.i, args.o], colormaps=["gray", "subcortical"], verbose=args.v)


def _join_negative_values(argv):
    """Let '-create-seg -1,3' through: argparse would take '-1,3' for an option."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, token in enumerate(argv[:-1]):
        if token in ("-create-seg", "-create-seg-mid") and argv[i + 1][:2] in ("-1", "-0"):
            argv[i:i + 2] = [f"{token}={argv[i + 1]}", ""]
    return [a for a in argv if a != ""]


def main(argv=None):
    return run_command(get_parser(), _run, _join_negative_values(argv))


if __name__ == "__main__":
    sys.exit(main())
