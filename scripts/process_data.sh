#!/usr/bin/env bash
# The course's multi-subject pipeline, for sct_run_batch:
#
#   sct_run_batch -script process_data.sh -path-data data/ -path-output output -jobs 2
#
# Per subject (BIDS names as in the course's data/): cord segmentation of the T2w (the manual one
# from PATH_SEGMANUAL when it exists), vertebral levels, cord CSA per level in C2-C3, gray matter
# on the T2*, MT-off registered onto MT-on, MTR and MTR in white matter. Results are appended to
# one CSV per metric in PATH_RESULTS; every step adds an entry to the QC report in PATH_QC.
#
# Steps whose command is not in this installation are skipped with a message (SKIPPED: ...) and
# the subject goes on; a step that runs and fails stops the subject (its log gets the err. prefix).
# Variables exported by sct_run_batch: PATH_DATA, PATH_DATA_PROCESSED, PATH_RESULTS, PATH_LOG,
# PATH_QC, PATH_SEGMANUAL.
set -euo pipefail
set -x
SUBJECT=$1
start=$(date +%s)

# a declared command may not be implemented yet in this installation: it must answer -h
has() { command -v "$1" > /dev/null 2>&1 && "$1" -h > /dev/null 2>&1; }
skip() { set +x; echo "SKIPPED: $1 ($2 is not available in this installation)"; set -x; }
qc=(-qc "$PATH_QC" -qc-dataset "$(basename "$PATH_DATA")" -qc-subject "${SUBJECT}")

# The manual file <PATH_SEGMANUAL>/<subject>/anat/<file><suffix>-manual.nii.gz, when it exists, is
# copied to <file><suffix>.nii.gz (so a re-run after sct_manual_correction uses it): returns 0.
#   use_manual_if_exists <file without .nii.gz> <suffix: _seg, _gmseg, …>
use_manual_if_exists() {
  local manual="${PATH_SEGMANUAL}/${SUBJECT}/anat/${1}${2}-manual.nii.gz"
  [[ -e "$manual" ]] || return 1
  echo "Found a manual file: $manual"
  cp "$manual" "${1}${2}.nii.gz"
}

# Cord segmentation: the manual one when it exists, else the automatic one (as in the course).
#   segment_if_does_not_exist <file without .nii.gz> <contrast> <method: propseg, deepseg_sc…>
segment_if_does_not_exist() {
  local file=$1 contrast=$2 method=$3
  if use_manual_if_exists "$file" _seg; then
    sct_qc -i "${file}.nii.gz" -s "${file}_seg.nii.gz" -p "sct_${method}" "${qc[@]}"
  else
    "sct_${method}" -i "${file}.nii.gz" -c "$contrast" "${qc[@]}"
  fi
}

# work on a copy of the subject's data
mkdir -p "${PATH_DATA_PROCESSED}/${SUBJECT}"
cp -R "${PATH_DATA}/${SUBJECT}/." "${PATH_DATA_PROCESSED}/${SUBJECT}/"
cd "${PATH_DATA_PROCESSED}/${SUBJECT}/anat"
prefix=${SUBJECT//\//_}

# ---------------------------------------------------------------- T2w: cord, levels, CSA in C2-C3
file_t2=${prefix}_T2w
segment_if_does_not_exist "$file_t2" t2 propseg
vertfile=""
labels=""
labels_manual="${PATH_SEGMANUAL}/${SUBJECT}/anat/${file_t2}_labels-manual.nii.gz"
if [[ -e "$labels_manual" ]]; then
  echo "Found manual labels: $labels_manual (automatic vertebral labeling not needed)"
elif has sct_label_vertebrae; then
  sct_label_vertebrae -i "${file_t2}.nii.gz" -s "${file_t2}_seg.nii.gz" -c t2 "${qc[@]}"
  vertfile=${file_t2}_seg_labeled.nii.gz
else
  skip "automatic vertebral labeling" sct_label_vertebrae
fi
# template registration: the manual labels when they exist (mid-vertebral points, 3 = C3 …), else
# the mid-points of C3 and C5 from the automatic labeling
if [[ -e "$labels_manual" ]]; then
  echo "Found manual labels: $labels_manual"
  labels=$labels_manual
elif [[ -n "$vertfile" ]]; then
  sct_label_utils -i "$vertfile" -vert-body 3,5 -o "${file_t2}_labels-vert.nii.gz"
  labels=${file_t2}_labels-vert.nii.gz
else
  echo "No vertebral labels (no ${labels_manual}): the template steps are skipped"
fi
if [[ -n "$labels" ]]; then
  sct_qc -i "${file_t2}.nii.gz" -s "$labels" -p sct_label_utils "${qc[@]}"
  sct_register_to_template -i "${file_t2}.nii.gz" -s "${file_t2}_seg.nii.gz" -l "$labels" -c t2 \
    -ofolder reg_t2 "${qc[@]}"
  sct_warp_template -d "${file_t2}.nii.gz" -w reg_t2/warp_template2anat.nii.gz -a 0 -ofolder label_t2 "${qc[@]}"
  # without the automatic labeling, the levels come from the template registered with the manual labels
  [[ -n "$vertfile" ]] || vertfile=label_t2/template/PAM50_levels.nii.gz
fi
if [[ -n "$vertfile" ]]; then
  sct_process_segmentation -i "${file_t2}_seg.nii.gz" -vert 2:3 -vertfile "$vertfile" -perlevel 1 \
    -o "${PATH_RESULTS}/csa-SC_T2w.csv" -append 1 "${qc[@]}" -qc-image "${file_t2}.nii.gz"
fi
# CSA over the whole segmentation (no levels needed)
sct_process_segmentation -i "${file_t2}_seg.nii.gz" -o "${PATH_RESULTS}/csa-SC_T2w_all.csv" -append 1

# ---------------------------------------------------------------- T2*: gray matter
file_t2s=${prefix}_T2star
if [[ -e "${file_t2s}.nii.gz" ]]; then
  if use_manual_if_exists "$file_t2s" _gmseg; then
    sct_qc -i "${file_t2s}.nii.gz" -s "${file_t2s}_gmseg.nii.gz" -p sct_deepseg_gm "${qc[@]}"
  else
    sct_deepseg_gm -i "${file_t2s}.nii.gz" "${qc[@]}"
  fi
  sct_process_segmentation -i "${file_t2s}_gmseg.nii.gz" -angle-corr 0 -o "${PATH_RESULTS}/csa-GM_T2s.csv" -append 1
fi

# ---------------------------------------------------------------- MT: registration, MTR in white matter
file_mt1=${prefix}_acq-MTon_MTS
file_mt0=${prefix}_acq-MToff_MTS
if [[ -e "${file_mt1}.nii.gz" && -e "${file_mt0}.nii.gz" ]]; then
  segment_if_does_not_exist "$file_mt1" t2 propseg
  sct_create_mask -i "${file_mt1}.nii.gz" -p "centerline,${file_mt1}_seg.nii.gz" -size 35mm -f cylinder \
    -o "mask_${file_mt1}.nii.gz"
  sct_register_multimodal -i "${file_mt0}.nii.gz" -d "${file_mt1}.nii.gz" -dseg "${file_mt1}_seg.nii.gz" \
    -m "mask_${file_mt1}.nii.gz" -param step=1,type=im,algo=slicereg,metric=CC -x spline "${qc[@]}"
  if ! has sct_compute_mtr; then
    skip "MTR and MTR in white matter" sct_compute_mtr
  elif ! has sct_extract_metric || [[ ! -e reg_t2/warp_template2anat.nii.gz ]]; then
    sct_compute_mtr -mt0 "${file_mt0}_reg.nii.gz" -mt1 "${file_mt1}.nii.gz"
    skip "MTR in white matter (needs the template registration and sct_extract_metric)" sct_extract_metric
  else
    sct_compute_mtr -mt0 "${file_mt0}_reg.nii.gz" -mt1 "${file_mt1}.nii.gz"
    # template -> MT: the T2w's template registration followed by T2w -> MT
    sct_register_multimodal -i "${file_t2}.nii.gz" -iseg "${file_t2}_seg.nii.gz" -d "${file_mt1}.nii.gz" \
      -dseg "${file_mt1}_seg.nii.gz" -m "mask_${file_mt1}.nii.gz" \
      -param step=1,type=seg,algo=centermass:step=2,type=seg,algo=bsplinesyn,iter=3 \
      -owarp warp_T2w2mt.nii.gz
    sct_concat_transfo -d "${file_mt1}.nii.gz" -w reg_t2/warp_template2anat.nii.gz warp_T2w2mt.nii.gz \
      -o warp_template2mt.nii.gz
    sct_warp_template -d "${file_mt1}.nii.gz" -w warp_template2mt.nii.gz -a 1 -ofolder label_mt "${qc[@]}"
    sct_extract_metric -i mtr.nii.gz -f label_mt/atlas -method map -l 51 -o "${PATH_RESULTS}/MTR_in_WM.csv" -append 1
  fi
fi

set +x
echo "${SUBJECT}: done in $(( $(date +%s) - start )) s"
