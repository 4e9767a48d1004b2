#!/usr/bin/env bash
# Example batch script: the analysis of one subject, as users chain sct_* commands in a shell.
#
#   scripts/batch_single_subject.sh <sct_testing_data folder> [output folder]
#
# The single-subject, non-BIDS version of scripts/process_data.sh (which the README's main job runs
# through sct_run_batch). Templates and models are
# installed on demand; offline, set SCT_DATA_MIRROR to a local copy of the data.
set -euo pipefail
DATA="$(cd "${1:?usage: $0 <sct_testing_data folder> [output folder]}" && pwd)"
OUT="${2:-batch_output}"
mkdir -p "$OUT" && cd "$OUT"
QC="$PWD/qc"

# Cord segmentation (no model download) and its agreement with the manual one
sct_propseg -i "$DATA/t2/t2.nii.gz" -c t2 -qc "$QC"
sct_dice_coefficient -i t2_seg.nii.gz -d "$DATA/t2/t2_seg-manual.nii.gz"

# Registration to the PAM50 template with two vertebral labels, then template -> subject
sct_register_to_template -i "$DATA/t2/t2.nii.gz" -s t2_seg.nii.gz -l "$DATA/t2/labels.nii.gz" \
  -c t2 -ofolder reg_t2 -qc "$QC"
sct_warp_template -d "$DATA/t2/t2.nii.gz" -w reg_t2/warp_template2anat.nii.gz -ofolder label -qc "$QC"

# Cord cross-sectional area per vertebral level
sct_process_segmentation -i t2_seg.nii.gz -vertfile label/template/PAM50_levels.nii.gz -perlevel 1 \
  -o csa_perlevel.csv -qc "$QC" -qc-image "$DATA/t2/t2.nii.gz"

# Gray matter on T2*, MT images registered with slice-wise translations
sct_deepseg_gm -i "$DATA/t2s/t2s.nii.gz" -qc "$QC"
sct_register_multimodal -i "$DATA/mt/mt0.nii.gz" -d "$DATA/mt/mt1.nii.gz" \
  -dseg "$DATA/mt/mt1_seg.nii.gz" -param step=1,type=im,algo=slicereg,metric=CC -ofolder reg_mt -qc "$QC"

echo "Done. Open the QC report: $QC/index.html"
