"""sct_deepseg: segment an image with a model of the deep-learning zoo (installed on demand)."""
import sys

from spinalcordtoolbox.deepseg.models import task_list_text
from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, float_in_range,
                                         input_file, run_command)


def _qc_plane(text):
    plane = str(text).lower()
    if plane not in ("axial", "sagittal"):
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("-qc-plane", text, ["Axial", "Sagittal"])
    return plane


def get_parser():
    parser = SCTArgumentParser(
        description="Segment an anatomical structure or a pathology with a deep-learning model. The "
                    "model of the task is downloaded and installed on first use (set SCT_DATA_MIRROR="
                    "<folder> to install from a local copy). Runs on the GPU when one is available "
                    "(see -device), on the CPU otherwise. Outputs are written next to the input as "
                    "<input><suffix>.nii.gz, each with a JSON sidecar naming the model.\n\n"
                    "Usage: sct_deepseg TASK -i IMAGE [options]\n\nTASKS:\n\n" + task_list_text(),
        epilog="Example: sct_deepseg spinalcord -i t2.nii.gz -qc qc")
    parser.mandatory.add_argument("task", metavar="TASK", nargs="?", help="Task to run (see the list above).")
    parser.mandatory.add_argument(
        "-i", metavar="<file>", type=input_file, nargs="+",
        help="Input image (multi-contrast tasks: one image per contrast, on one grid, named by -c).")
    parser.optional.add_argument(
        "-c", metavar="<str>", nargs="+", choices=["t1", "t2", "t2star"],
        help="Multi-contrast tasks (tumor_edema_cavity_t1_t2): the contrast of each -i image, in "
             "the same order (e.g. -i t2.nii.gz t1.nii.gz -c t2 t1).")
    parser.optional.add_argument(
        "-o", metavar="<file>",
        help="Output file name. Default: next to the input, input name + the task's suffix (e.g. "
             "t2_seg.nii.gz). For tasks with several outputs, each suffix is added to this name.")
    parser.optional.add_argument(
        "-thr", metavar="<float>", type=float_in_range(0, 1),
        help="Binarise each output above this value (0-1). 0: no binarisation (soft output for "
             "models that predict one). nnU-Net models already give binary masks. ivadomed-format "
             "tasks: replaces the threshold of the model's config (0 keeps it).")
    parser.optional.add_argument(
        "-largest", metavar="<int>", type=int, choices=[0, 1], default=0,
        help="1: keep only the largest connected object of each output (always done for "
             "'spinalcord'). Default: 0")
    parser.optional.add_argument("-fill-holes", metavar="<int>", type=int, choices=[0, 1], default=0,
                                 help="1: fill holes in the segmentation (3-D). Default: 0")
    parser.optional.add_argument(
        "-remove-small", metavar="<size>", nargs="+",
        help="Remove objects smaller than this size, with a unit: e.g. 10mm3 or 5vox (no unit: voxels).")
    parser.optional.add_argument(
        "-single-fold", action="store_true",
        help="Multi-fold models (lesion_ms): run one fold (fold 1) instead of the majority vote of all "
             "folds: faster, slightly less accurate.")
    parser.optional.add_argument(
        "-test-time-aug", action="store_true",
        help="Average the predictions of the mirrored images (nnU-Net test-time augmentation): "
             "4-8x slower. Default: off")
    parser.optional.add_argument("-soft-ms-lesion", action="store_true",
                                 help="lesion_ms only: write the soft (probability) lesion map.")
    parser.optional.add_argument(
        "-step1-only", metavar="<int>", type=int, nargs="?", const=1, choices=[0, 1], default=0,
        help="totalspineseg, spine: run step 1 only (discs, cord, canal; no vertebrae).")
    parser.optional.add_argument(
        "-label-vert", metavar="<int>", type=int, choices=[0, 1], default=0,
        help="spine only: 1: also run TotalSpineSeg's step 2 and write the full spine segmentation "
             "(_totalspineseg_all: vertebrae labelled by level, C3 = 13; discs, cord, canal) with the "
             "intermediate outputs. Default: 0 (step 1: the disc labels _totalspineseg_discs)")
    parser.optional.add_argument("-install", action="store_true",
                                 help="Install the models of TASK and exit.")
    parser.optional.add_argument(
        "-custom-url", metavar="<url>", nargs="+",
        help="Install the task's model(s) from these URLs or local .zip files / folders (one per "
             "model) instead of the official release. The custom model stays installed until the "
             "official one is installed again with -install.")
    parser.optional.add_argument("-device", metavar="<str>", default="auto",
                                 help="Where to run the model: auto (GPU when available), cpu, cuda. "
                                      "Default: auto")
    group = parser.add_qc_args(seg=True)
    group.add_argument("-qc-plane", metavar="<str>", type=_qc_plane, default="axial",
                       help="Plane of the QC: Axial or Sagittal. Default: Axial")
    parser.add_common_args()
    return parser


def main(argv=None):
    return run_command(get_parser(), lambda args: _run(args, argv), argv)


def _run(args, argv):
    from spinalcordtoolbox.deepseg.segment import run_task

    if not args.task:
        raise ValueError("Give a task name first, e.g. 'sct_deepseg spinalcord -i t2.nii.gz' "
                         "(see 'sct_deepseg -h' for the list)")
    command = "sct_deepseg " + " ".join(sys.argv[1:] if argv is None else argv)
    inputs = args.i[0] if args.i and len(args.i) == 1 else args.i
    result = run_task(
        args.task, inputs, output=args.o, install_only=args.install, custom_urls=args.custom_url,
        thr=args.thr, largest=bool(args.largest), fill_holes=bool(args.fill_holes),
        remove_small=args.remove_small, single_fold=args.single_fold, test_time_aug=args.test_time_aug,
        soft=args.soft_ms_lesion, step1_only=bool(args.step1_only), label_vert=bool(args.label_vert),
        device=args.device,
        qc=args.qc, qc_dataset=args.qc_dataset, qc_subject=args.qc_subject, qc_seg=args.qc_seg,
        qc_plane=args.qc_plane, command_line=command, contrasts=args.c)
    if args.install:
        print("Installed: " + ", ".join(map(str, result)))
        return
    paths = list(result.values())
    display_viewer_syntax(list(args.i) + paths, colormaps=[None] * len(args.i) + ["red"] * len(paths),
                          opacities=[None] * len(args.i) + [0.7] * len(paths), verbose=args.v)


if __name__ == "__main__":
    main()
