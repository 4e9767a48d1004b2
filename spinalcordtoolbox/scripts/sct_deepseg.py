"""sct_deepseg: segment an image with a model of the deep-learning zoo (installed on demand)."""
import os
import sys

from spinalcordtoolbox.deepseg.models import task_list_text
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, float_in_range,
                                         input_file, run_command)


def get_parser():
    parser = SCTArgumentParser(
        description="Segment an anatomical structure or a pathology with a deep-learning model. The "
                    "model of the task is downloaded and installed on first use (set SCT_DATA_MIRROR="
                    "<folder> to install from a local copy). Runs on the GPU when one is available "
                    "(see -device), on the CPU otherwise.\n\n"
                    "Usage: sct_deepseg TASK -i IMAGE [options]\n\nTASKS:\n\n" + task_list_text(),
        epilog="Example: sct_deepseg spinalcord -i t2.nii.gz -qc qc")
    parser.mandatory.add_argument("task", metavar="TASK", nargs="?", help="Task to run (see the list above).")
    parser.mandatory.add_argument("-i", metavar="<file>", type=input_file, help="Input image.")
    parser.optional.add_argument(
        "-o", metavar="<file>",
        help="Output file name. Default: input name + the task's suffix (e.g. t2_seg.nii.gz) in the "
             "current folder. For tasks with several outputs, each suffix is added to this name.")
    parser.optional.add_argument("-thr", metavar="<float>", type=float_in_range(0, 1),
                                 help="Binarise the foreground probability at this value (0-1) instead "
                                      "of the model's own decision (single-class tasks).")
    parser.optional.add_argument("-largest", metavar="<int>", type=int, choices=[0, 1], default=0,
                                 help="1: keep only the largest connected object. Default: 0")
    parser.optional.add_argument("-fill-holes", metavar="<int>", type=int, choices=[0, 1], default=0,
                                 help="1: fill holes in the segmentation. Default: 0")
    parser.optional.add_argument("-remove-small", metavar="<size>",
                                 help="Remove objects smaller than this size: e.g. '10mm3' or '5vox'.")
    parser.optional.add_argument("-single-fold", action="store_true",
                                 help="Use only the first fold of the model instead of the ensemble of "
                                      "all folds (faster, slightly less accurate).")
    parser.optional.add_argument("-soft-ms-lesion", action="store_true",
                                 help="lesion_ms only: write the soft (probability) lesion map.")
    parser.optional.add_argument("-step1-only", metavar="<int>", type=int, choices=[0, 1], default=0,
                                 help="totalspineseg only: run step 1 only.")
    parser.optional.add_argument("-install", action="store_true",
                                 help="Install the models of TASK and exit.")
    parser.optional.add_argument("-custom-url", metavar="<url>", nargs="+",
                                 help="Install the task's model(s) from these URLs or local .zip files / "
                                      "folders (one per model) instead of the official release.")
    parser.optional.add_argument("-device", metavar="<str>", default="auto",
                                 help="Where to run the model: auto (GPU when available), cpu, cuda. "
                                      "Default: auto")
    parser.add_qc_args(seg=True)
    parser.add_common_args()
    return parser


def _run(args):
    from spinalcordtoolbox.deepseg.install import install_task_models
    from spinalcordtoolbox.deepseg.models import task_info
    from spinalcordtoolbox.deepseg.segment import check_runnable, segment
    from spinalcordtoolbox.image import Image, add_suffix, split_ext
    from spinalcordtoolbox.utils.fs import check_not_input

    if not args.task:
        raise ValueError("Give a task name first, e.g. 'sct_deepseg spinalcord -i t2.nii.gz' "
                         "(see 'sct_deepseg -h' for the list)")
    info = task_info(args.task)
    if args.install:
        folders = install_task_models(args.task, args.custom_url)
        print("Installed: " + ", ".join(map(str, folders)))
        return
    if not args.i:
        raise ValueError("Give an input image with -i")
    check_runnable(args.task, bool(args.step1_only), args.soft_ms_lesion)
    stem, ext = split_ext(args.i)
    paths = {}
    for suffix in info["outputs"]:
        if args.o and len(info["outputs"]) == 1:
            paths[suffix] = args.o
        elif args.o:
            paths[suffix] = add_suffix(args.o, suffix)
        else:
            paths[suffix] = stem + suffix + (ext or ".nii.gz")
        check_not_input(paths[suffix])  # before the work, not after it
    im = Image(args.i).require_3d("input image")
    folders = install_task_models(args.task, args.custom_url)
    outputs = segment(im, args.task, folders, thr=args.thr, largest=bool(args.largest),
                      fill_holes=bool(args.fill_holes), remove_small=args.remove_small,
                      single_fold=args.single_fold, device=args.device, soft=args.soft_ms_lesion)
    for suffix, out in outputs.items():
        out.save(paths[suffix])
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc
        first = next(iter(paths.values()))
        generate_qc(args.i, args.qc, process="sct_deepseg", seg=first,
                    command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                    subject=args.qc_subject, plane="axial")
    if info.get("citation"):
        print(f"\nIf you use this model, please cite: {info['citation']}")
    display_viewer_syntax([args.i] + [os.fspath(p) for p in paths.values()],
                          colormaps=[None] + ["red"] * len(paths), opacities=[None] + [0.7] * len(paths),
                          verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
