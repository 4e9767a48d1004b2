"""Example analysis of the test subject: the README's main job.

Runs the toolbox's commands, exactly as a user types them in a shell, on sct_testing_data:
cord segmentation (no download needed), template registration, template/atlas warping, cord
CSA per vertebral level, gray-matter segmentation, MTR-ready registration of the MT images, with
every step feeding one HTML QC report. Results go into ./example_output (or the folder given as
first argument).
"""
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run(cmd: str):
    print(f"\n$ {cmd}", flush=True)
    exe, *rest = shlex.split(cmd)
    if subprocess.run([str(BIN / exe)] + rest).returncode != 0:
        # the command has printed its one-line error: stop there, without a traceback
        sys.stderr.write(f"ERROR: the example stopped at: {exe}\n")
        sys.exit(1)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "example_output").resolve()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from spinalcordtoolbox.download import MIRROR_ENV, SHARED_DATA, DownloadError, find_data

    # Offline machines: serve templates and models from the data folder beside the checkout.
    if not os.environ.get(MIRROR_ENV) and SHARED_DATA.is_dir():
        os.environ[MIRROR_ENV] = str(SHARED_DATA)
    try:
        data = find_data("sct_testing_data")
    except DownloadError as e:  # first run without data or network: one line, what to do
        sys.stderr.write(f"ERROR: {e}\n")
        sys.exit(1)
    t2, t2s, mt0, mt1 = (data / "t2/t2.nii.gz", data / "t2s/t2s.nii.gz",
                         data / "mt/mt0.nii.gz", data / "mt/mt1.nii.gz")
    out.mkdir(parents=True, exist_ok=True)
    qc = out / "qc"
    start = time.time()
    os.chdir(out)

    run("sct_check_dependencies -short")
    run(f"sct_image -i {t2} -getorient")
    # 1. cord segmentation with no model download, checked against the manual one
    run(f"sct_propseg -i {t2} -c t2 -qc {qc} -qc-subject sub-01")
    run(f"sct_dice_coefficient -i t2_seg.nii.gz -d {data / 't2/t2_seg-manual.nii.gz'}")
    # 2. vertebral labels (mid-C3, mid-C5) reviewed in QC, then registration to the PAM50 template
    run(f"sct_qc -i {t2} -s {data / 't2/labels.nii.gz'} -p sct_label_utils -qc {qc} -qc-subject sub-01")
    run(f"sct_register_to_template -i {t2} -s t2_seg.nii.gz -l {data / 't2/labels.nii.gz'} -c t2 "
        f"-ofolder reg_t2 -qc {qc} -qc-subject sub-01")
    # 3. template and white-matter atlas in the subject space
    run(f"sct_warp_template -d {t2} -w reg_t2/warp_template2anat.nii.gz -ofolder label -qc {qc} "
        f"-qc-subject sub-01")
    # 4. cord cross-sectional area per vertebral level
    run("sct_process_segmentation -i t2_seg.nii.gz -vertfile label/template/PAM50_levels.nii.gz "
        f"-perlevel 1 -o csa_perlevel.csv -qc {qc} -qc-subject sub-01 -qc-image {t2}")
    # 5. gray matter on T2* (pretrained network, weights from the local data mirror)
    run(f"sct_deepseg_gm -i {t2s} -qc {qc} -qc-subject sub-01")
    # 6. MT images: mt0 onto mt1 (slice-wise translations), then MTR-ready pair
    run(f"sct_register_multimodal -i {mt0} -d {mt1} -dseg {data / 'mt/mt1_seg.nii.gz'} "
        f"-param step=1,type=im,algo=slicereg,metric=CC -ofolder reg_mt -qc {qc} -qc-subject sub-01")

    print(f"\nExample analysis finished in {time.time() - start:.0f} s. Results in {out}:")
    print("  csa_perlevel.csv  (cord CSA per vertebral level)")
    print(f"\nTo review every step, open the QC report in a browser:\n  file://{qc / 'index.html'}\n")


if __name__ == "__main__":
    main()
