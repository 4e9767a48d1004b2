"""sct_analyze_lesion: count and measure spinal cord lesions."""
import sys

from spinalcordtoolbox.utils.cli import (SCTArgumentParser, display_viewer_syntax, input_file,
                                         input_folder, run_command)


def get_parser():
    parser = SCTArgumentParser(
        description="Analyse lesions inside the spinal cord: number of lesions (3-D connected "
                    "components), volume [mm3], length along the cord [mm], maximal equivalent "
                    "diameter, maximal axial damage ratio (lesion area / cord area), and tissue "
                    "bridges (narrowest spared dorsal and ventral tissue in the midsagittal "
                    "slice). With -f, the proportion of each lesion per vertebral level and the "
                    "involvement of each atlas tract. Outputs <lesion>_label.nii.gz and "
                    "<lesion>_analysis.xlsx.")
    m = parser.mandatory
    m.add_argument("-m", metavar="<file>", type=input_file, required=True,
                   help="Binary lesion mask. Example: t2_lesion.nii.gz")
    o = parser.optional
    o.add_argument("-s", metavar="<file>", type=input_file,
                   help="Spinal cord segmentation, same grid as -m. Without it only the lesion "
                        "volume is measured (length, diameter, damage ratio and tissue bridges need "
                        "the cord).")
    o.add_argument("-i", metavar="<file>", type=input_file,
                   help="Image on the grid of -m (e.g. t2.nii.gz): mean and standard deviation of "
                        "its values within each lesion (columns mean_<name>, std_<name>); also the "
                        "background of the QC report.")
    o.add_argument("-f", metavar="<folder>", type=input_folder,
                   help="Template warped to the subject (sct_warp_template output, e.g. label/): "
                        "template/*_levels.nii.gz and atlas/ with info_label.txt.")
    o.add_argument("-nli-slice", metavar="<int>", type=int, dest="nli_slice",
                   help="Axial slice (RPI numbering, inferior to superior) of the neurological level "
                        "of injury. When the lesion mask is empty, the tissue bridges are measured "
                        "there: the cord's midsagittal AP diameter, half of it dorsal and ventral. "
                        "Needs -s.")
    o.add_argument("-ofolder", metavar="<folder>", default=".",
                   help="Output folder. Default: current folder")
    parser.add_qc_args()
    o.add_argument("-qc-image", metavar="<file>", type=input_file,
                   help="Anatomical image shown under the lesions in the QC report.")
    parser.add_common_args()
    return parser


def _run(args):
    import os

    from spinalcordtoolbox.image import Image, split_ext
    from spinalcordtoolbox.shape.lesion import analyze_lesions, write_xlsx
    from spinalcordtoolbox.utils.fs import check_not_input

    stem = split_ext(args.m)[0]
    out_label = os.path.join(args.ofolder, stem + "_label.nii.gz")
    out_xlsx = os.path.join(args.ofolder, stem + "_analysis.xlsx")
    check_not_input(out_label)
    check_not_input(out_xlsx)
    result = analyze_lesions(Image(args.m), Image(args.s) if args.s else None, template_dir=args.f,
                             im_intensity=Image(args.i) if args.i else None, nli_slice=args.nli_slice)
    from spinalcordtoolbox.utils.fs import makedirs
    makedirs(args.ofolder)
    write_xlsx(result, out_xlsx)
    result["label_image"].save(out_label)
    print(f"{result['count']} lesion(s), total volume {result['total_volume']:.1f} mm3")
    if result.get("nli"):
        nli = result["nli"]
        print(f"  NLI slice {nli['nli_slice']}: cord AP diameter {nli['sc_ap_diameter [mm]']:.2f} mm "
              f"(dorsal and ventral bridges {nli['dorsal_bridge_width [mm]']:.2f} mm)")
    for r in result["lesions"]:
        ratio, length = r["max_axial_damage_ratio []"], r["length [mm]"]
        print(f"  lesion {r['label']}: volume {r['volume [mm3]']:.1f} mm3, length "
              f"{'n/a' if length is None else f'{length:.1f} mm'}, max axial damage ratio "
              f"{'n/a' if ratio is None else f'{ratio:.2f}'}")
    print(f"Saved {out_xlsx}")
    if args.qc:
        from spinalcordtoolbox.reports.qc import generate_qc

        generate_qc(args.qc_image or args.i or args.s or args.m, args.qc, process="sct_analyze_lesion",
                    seg=out_label, command_line=" ".join(sys.argv), dataset=args.qc_dataset,
                    subject=args.qc_subject)
    display_viewer_syntax([args.qc_image or args.i or args.s or args.m, out_label],
                          colormaps=["gray", "red-yellow"], opacities=[None, 0.7], verbose=args.v)


def main(argv=None):
    return run_command(get_parser(), _run, argv)


if __name__ == "__main__":
    main()
