"""Registry of the ``sct_deepseg`` model zoo: every task, the models it runs, where they are published.

A *model* is a downloadable folder (an nnU-Net v2 results folder for most of them); a *task*
is what the user types (``sct_deepseg spinalcord -i t2.nii.gz``): one or more models plus the
files it writes. ``outputs`` lists the files the published model gives (suffix -> label values,
``None``: the whole map, e.g. multi-class rootlets); for nnU-Net models the names actually
written are derived at run time from the installed model's ``dataset.json`` labels
(:func:`spinalcordtoolbox.deepseg.inference.output_classes`), as the established toolbox does.
``largest``: the task always keeps the largest object.

The names, URLs, contrasts and suffixes are those of the established toolbox, so batch scripts
written for it keep working. This module is imported by ``sct_deepseg -h``: keep it light.
"""
from __future__ import annotations

#: framework values: "nnunet" (run here), "ivadomed" (ONNX or .pt network + JSON config of the old
#: ivadomed framework, run by deepseg/ivadomed_runner.py; two-model tasks cascade: the first model's
#: output is the prior the second crops around),
#: "totalspineseg" (two nnU-Net steps run by the totalspineseg package's pipeline,
#: deepseg/totalspineseg.py).
MODELS = {
    "mice_uqueensland_sc": {
        "urls": ["https://github.com/ivadomed/mice_uqueensland_sc/releases/download/r20200622/"
                 "r20200622_mice_uqueensland_sc.zip", "https://osf.io/nu3ma/download?version=6"],
        "description": "Cord segmentation model on mouse MRI (University of Queensland).",
        "contrasts": ["t1"], "framework": "ivadomed", "thr": 0.0},
    "mice_uqueensland_gm": {
        "urls": ["https://github.com/ivadomed/mice_uqueensland_gm/releases/download/r20200622/"
                 "r20200622_mice_uqueensland_gm.zip", "https://osf.io/mfxwg/download?version=6"],
        "description": "Gray matter segmentation model on mouse MRI (University of Queensland).",
        "contrasts": ["t1"], "framework": "ivadomed", "thr": 0.0},
    "t2_tumor": {
        "urls": ["https://github.com/ivadomed/t2_tumor/archive/r20201215.zip"],
        "description": "Cord tumor segmentation model, trained on T2-weighted contrast.",
        "contrasts": ["t2"], "framework": "ivadomed", "thr": 0.5},
    "findcord_tumor": {
        "urls": ["https://github.com/ivadomed/findcord_tumor/archive/r20201215.zip"],
        "description": "Cord localisation model, trained on T2-weighted images with tumor.",
        "contrasts": ["t2"], "framework": "ivadomed", "thr": 0.5},
    "model_seg_sctumor-edema-cavity_t2-t1_unet3d-multichannel": {
        "urls": ["https://github.com/ivadomed/model_seg_sctumor-edema-cavity_t2-t1_unet3d-multichannel/"
                 "archive/r20201215.zip"],
        "description": "Multiclass cord tumor/edema/cavity segmentation model.",
        "contrasts": ["t2", "t1"], "framework": "ivadomed", "thr": 0.5},
    "model_seg_exvivo_gm-wm_t2_unet2d-multichannel-softseg": {
        "urls": ["https://github.com/ivadomed/model_seg_exvivo_gm-wm_t2_unet2d-multichannel-softseg/"
                 "archive/r20210401_v2.zip"],
        "description": "Grey/white matter segmentation on ex vivo human T2w.",
        "contrasts": ["t2"], "framework": "ivadomed", "thr": 0.0},
    "model_7t_multiclass_gm_sc_unet2d": {
        "urls": ["https://github.com/ivadomed/model_seg_gm-wm_t2star_7t_unet3d-multiclass/archive/refs/"
                 "tags/r20211012.zip"],
        "description": "SC/GM multiclass segmentation on T2*-w contrast at 7T (CRMBM-CEMEREM).",
        "contrasts": ["t2star"], "framework": "ivadomed", "thr": 0.5},
    "model_seg_epfl_t2w_lumbar_sc": {
        "urls": ["https://github.com/ivadomed/lumbar_seg_EPFL/releases/download/r20231004/"
                 "model_seg_epfl_t2w_lumbar_sc.zip"],
        "description": "Lumbar cord segmentation on T2w contrast with a 3D U-Net.",
        "contrasts": ["t2"], "framework": "ivadomed", "thr": 0.5},
    "model_seg_sc_contrast_agnostic_nnunet": {
        "urls": ["https://github.com/sct-pipeline/contrast-agnostic-softseg-spinalcord/releases/download/"
                 "v3.0/model_contrast_agnostic_20250123.zip"],
        "description": "Spinal cord segmentation agnostic to MRI contrasts.",
        "contrasts": ["any"], "framework": "nnunet", "thr": None},
    "model_seg_sci_multiclass_sc_lesion_nnunet": {
        "urls": ["https://github.com/ivadomed/model_seg_sci/releases/download/r20240729/"
                 "model_SCIsegV2_r20240729.zip"],
        "description": "Intramedullary SCI lesion and cord segmentation in T2w MRI.",
        "contrasts": ["t2"], "framework": "nnunet", "thr": None},
    "model_seg_spinal_rootlets_nnunet": {
        "urls": ["https://github.com/ivadomed/model-spinal-rootlets/releases/download/r20250318/"
                 "model-spinal-rootlets-multicon-r20250318.zip"],
        "description": "Spinal nerve rootlets (C2-T1, dorsal and ventral) for T2w and MP2RAGE.",
        "contrasts": ["t2", "UNIT1", "T1w-INV1", "T1w-INV2"], "framework": "nnunet", "thr": None},
    "model_seg_gm_wm_mouse_nnunet": {
        "urls": ["https://github.com/ivadomed/model_seg_mouse-sc_wm-gm_t1/releases/download/v0.4/model.zip"],
        "description": "White and grey matter segmentation on T1w ex vivo mouse spinal cord.",
        "contrasts": ["t1"], "framework": "nnunet", "thr": None},
    "model_seg_sc_epi_nnunet": {
        "urls": ["https://github.com/sct-pipeline/fmri-segmentation/releases/download/v0.2/"
                 "model-fmri-segmentation-v0.2_nnUNetTrainer.zip"],
        "description": "Spinal cord segmentation for EPI data (single 3D volume).",
        "contrasts": ["bold"], "framework": "nnunet", "thr": None},
    "model_seg_ms_lesion_mp2rage": {
        "urls": ["https://github.com/ivadomed/model_seg_ms_mp2rage/releases/download/r20240610/"
                 "nnUNetTrainer_seg_ms_lesion_mp2rage__nnUNetPlans__3d_fullres.zip"],
        "description": "Spinal cord MS lesions on MP2RAGE UNIT1 contrast.",
        "contrasts": ["UNIT1"], "framework": "nnunet", "thr": None},
    "model_seg_ms_sc_lesion_bavaria_quebec_nnunet": {
        "urls": ["https://github.com/ivadomed/model-seg-ms-axial-t2w/releases/download/r20241111/"
                 "model_bavaria_quebec_axial_t2w_ms.zip"],
        "description": "Intramedullary MS lesion and spinal cord segmentation in axial T2w MRI.",
        "contrasts": ["t2"], "framework": "nnunet", "thr": None},
    "model_seg_ms_lesion": {
        # one folder per fold, ensembled at inference
        "urls": {f"model_fold{k}": [f"https://github.com/ivadomed/ms-lesion-agnostic/releases/download/"
                                    f"r20250909/model_fold{k}.zip"] for k in range(5)},
        "description": "Spinal cord MS lesions, any contrast.",
        "contrasts": ["any"], "framework": "nnunet", "thr": None},
    "model_seg_canal_t2w": {
        "urls": ["https://github.com/ivadomed/model-canal-seg/releases/download/r20241126/"
                 "model-canal-seg_r20241126.zip"],
        "description": "Spinal canal (dural sac) segmentation on T2w contrast.",
        "contrasts": ["t2"], "framework": "nnunet", "thr": None},
    "totalspineseg": {
        # the release the pinned totalspineseg package (20260807) names in its metadata; its
        # pipeline runs on these weights (installed here, not by the package)
        "urls": {"step1": ["https://github.com/neuropoly/totalspineseg/releases/download/r20260730/"
                           "Dataset101_TotalSpineSeg_step1_r20260730.zip"],
                 "step2": ["https://github.com/neuropoly/totalspineseg/releases/download/r20260730/"
                           "Dataset102_TotalSpineSeg_step2_r20260730.zip"]},
        "description": "Vertebrae, discs, spinal cord and canal instance segmentation (TotalSpineSeg).",
        "contrasts": ["any"], "framework": "totalspineseg", "thr": None},
    "model_seg_gm_contrast_region_agnostic": {
        "urls": ["https://github.com/ivadomed/model-gm-contrast-region-agnostic/releases/download/"
                 "r20250420/Dataset820_gm-seg.zip"],
        "description": "Spinal cord gray matter on any region and contrast.",
        "contrasts": ["any"], "framework": "nnunet", "thr": None},
}

_TSS_CITATION = ("Warszawer Y, et al. TotalSpineSeg: Robust Spine Segmentation with Landmark-Based "
                 "Labeling in MRI. ResearchGate 2025.")

_CROP_NOTE = ("Crop the image around the cord first: 'sct_deepseg spinalcord -i IMAGE -o IMAGE_sc' then "
              "'sct_crop_image -i IMAGE -m IMAGE_sc -dilate 30x30x5' (30 mm at 1 mm resolution).")

TASKS = {
    "spinalcord": {
        "description": "Spinal cord segmentation agnostic to MRI contrasts",
        "long_description": "3D nnU-Net trained on healthy controls (spine-generic) and DCM, MS and SCI "
                            "patients; tested on T1w, T2w, T2*w, MT, DWI, MP2RAGE, PSIR, STIR and EPI.",
        "url": "https://github.com/sct-pipeline/contrast-agnostic-softseg-spinalcord/",
        "models": ["model_seg_sc_contrast_agnostic_nnunet"],
        "citation": "Bedard S, et al. Towards contrast-agnostic soft segmentation of the spinal cord. "
                    "Medical Image Analysis 2025;103473.",
        "group": "spinal_cord", "outputs": {"_seg": [1]}, "largest": True},
    "sc_epi": {
        "description": "Spinal cord segmentation for EPI-BOLD fMRI data",
        "long_description": "3D nnU-Net (EPISeg) trained on 192 gradient-echo EPI volumes from many sites.",
        "url": "https://github.com/sct-pipeline/fmri-segmentation",
        "models": ["model_seg_sc_epi_nnunet"],
        "citation": "Banerjee R, et al. EPISeg: Automated segmentation of the spinal cord on echo planar "
                    "images using open-access multi-center data. bioRxiv 2025.01.07.631402.",
        "group": "spinal_cord", "outputs": {"_seg": [1]}},
    "sc_lumbar_t2": {
        "description": "Lumbar cord segmentation with 3D UNet",
        "long_description": "ivadomed 3D U-Net trained on lumbar T2w scans of 11 healthy subjects (EPFL).",
        "url": "https://github.com/ivadomed/lumbar_seg_EPFL",
        "models": ["model_seg_epfl_t2w_lumbar_sc"], "citation": None,
        "group": "spinal_cord", "outputs": {"_seg": [1]}},
    "sc_mouse_t1": {
        "description": "Cord segmentation on mouse MRI",
        "long_description": "ivadomed U-Net trained on T1w scans of 10 mice (University of Queensland).",
        "url": "https://github.com/ivadomed/mice_uqueensland_sc/",
        "models": ["mice_uqueensland_sc"], "citation": None,
        "group": "spinal_cord", "outputs": {"_seg": [1]}},
    "sc_canal_t2": {
        "description": "Segmentation of spinal canal on T2w contrast",
        "long_description": "3D nnU-Net segmenting the spinal canal (dural sac).",
        "url": "https://github.com/ivadomed/model-canal-seg",
        "models": ["model_seg_canal_t2w"], "citation": None,
        "group": "spinal_cord", "outputs": {"_canal_seg": [1]}},
    "graymatter": {
        "description": "Segmentation of gray matter agnostic to MRI contrasts and regions",
        "long_description": "2D nnU-Net trained on 1367 subjects, >20 sites, 1.5T/3T/7T, 9 sequences.",
        "url": "https://github.com/ivadomed/model-gm-contrast-region-agnostic",
        "models": ["model_seg_gm_contrast_region_agnostic"], "citation": None,
        "group": "gray_matter", "outputs": {"_gm_seg": [1]}},
    "gm_sc_7t_t2star": {
        "description": "SC/GM seg on T2*-weighted contrast at 7T",
        "long_description": "Multiclass (SC/GM) model by N.J. Laines Medina, V. Callot and A. Le Troter "
                            "(CRMBM-CEMEREM), trained on 7T T2*w scans of 72 subjects.",
        "url": "https://github.com/ivadomed/model_seg_gm-wm_t2star_7t_unet3d-multiclass",
        "models": ["model_7t_multiclass_gm_sc_unet2d"],
        "citation": "Laines Medina NJ, et al. 2D Multi-Class Model for Gray and White Matter Segmentation "
                    "of the Cervical Spinal Cord at 7T. arXiv:2110.06516 (2021).",
        "group": "gray_matter", "outputs": {"_seg": [1], "_gmseg": [2]}},
    "gm_wm_exvivo_t2": {
        "description": "Grey/white matter seg on exvivo human T2w",
        "long_description": "ivadomed 2D U-Net trained on 149 slices of one ex vivo cord (Univ. Queensland).",
        "url": "https://github.com/ivadomed/model_seg_exvivo_gm-wm_t2_unet2d-multichannel-softseg",
        "models": ["model_seg_exvivo_gm-wm_t2_unet2d-multichannel-softseg"], "citation": None,
        "group": "gray_matter", "outputs": {"_gmseg": [1], "_wmseg": [2]}},
    "gm_mouse_t1": {
        "description": "Gray matter segmentation on mouse MRI",
        "long_description": "ivadomed U-Net trained on T1w scans of 10 mice (University of Queensland).",
        "url": "https://github.com/ivadomed/mice_uqueensland_gm/",
        "models": ["mice_uqueensland_gm"], "citation": None,
        "group": "gray_matter", "outputs": {"_gmseg": [1]}},
    "gm_wm_mouse_t1": {
        "description": "Exvivo mouse GM/WM segmentation for T1w contrast",
        "long_description": "nnU-Net trained on 72 ex vivo mouse cord volumes at 0.05 mm (Balgrist, Zurich).",
        "url": "https://github.com/ivadomed/model_seg_mouse-sc_wm-gm_t1",
        "models": ["model_seg_gm_wm_mouse_nnunet"],
        "citation": "Cohen-Adad J. Segmentation model of ex vivo mouse spinal cord white and gray matter. "
                    "Zenodo 2024, doi:10.5281/zenodo.10819207.",
        "group": "gray_matter", "outputs": {"_GM_seg": [1], "_WM_seg": [2]}},
    "lesion_ms": {
        "description": "MS lesion segmentation on spinal cord MRI images",
        "long_description": "3D nnU-Net trained on 4,428 images of 1,849 persons with MS from 23 centres "
                            "(T2w, T2*w, PSIR, UNIT1, STIR, T1w; axial, sagittal and 3D).",
        "url": "https://github.com/ivadomed/ms-lesion-agnostic",
        "models": ["model_seg_ms_lesion"], "citation": None,
        "group": "pathology", "outputs": {"_lesion_seg": [1]}},
    "lesion_ms_axial_t2": {
        "description": "Intramedullary MS lesion and spinal cord segmentation in Axial T2w MRI",
        "long_description": "2D nnU-Net trained on anisotropic axial T2w chunks from 4 sites (TUM, NYU, "
                            "UCSF, Brigham); cervical, thoracic and lumbar.",
        "url": "https://github.com/ivadomed/model-seg-ms-axial-t2w",
        "models": ["model_seg_ms_sc_lesion_bavaria_quebec_nnunet"], "citation": None,
        "group": "pathology", "outputs": {"_sc_seg": [1, 2], "_lesion_seg": [2]}},
    "lesion_ms_mp2rage": {
        "description": "MS lesion segmentation on cropped MP2RAGE data",
        "long_description": "3D nnU-Net trained on MP2RAGE UNIT1 of 322 subjects (NIH, Basel, CRMBM). "
                            + _CROP_NOTE,
        "url": "https://github.com/ivadomed/model_seg_ms_mp2rage",
        "models": ["model_seg_ms_lesion_mp2rage"],
        "citation": "Laines Medina N, et al. Automatic Multiple Sclerosis Lesion Segmentation in the "
                    "Spinal Cord on 3T and 7T MP2RAGE Images. ESMRMB 2024, p. 171.",
        "group": "pathology", "outputs": {"_lesion_seg": [1]}},
    "lesion_sci_t2": {
        "description": "Intramedullary SCI lesion and cord segmentation in T2w MRI",
        "long_description": "3D nnU-Net (SCIsegV2), multiclass cord + lesion, trained on T2w images from "
                            "7 sites (traumatic, DCM and ischemic SCI).",
        "url": "https://github.com/ivadomed/model_seg_sci",
        "models": ["model_seg_sci_multiclass_sc_lesion_nnunet"],
        "citation": "Karthik EN, et al. SCIsegV2: A Universal Tool for Segmentation of Intramedullary "
                    "Lesions in Spinal Cord Injury. AMAI 2025, pp. 198-209.",
        "group": "pathology", "outputs": {"_sc_seg": [1, 2], "_lesion_seg": [2]}},
    "tumor_t2": {
        "description": "Cord tumor segmentation on T2-weighted contrast",
        "long_description": "ivadomed U-Net trained on 380 patients (astrocytoma, ependymoma, "
                            "hemangioblastoma), run after a cord-localisation model.",
        "url": "https://github.com/sct-pipeline/tumor-segmentation",
        "models": ["findcord_tumor", "t2_tumor"], "citation": None,
        "group": "pathology", "outputs": {"_tumor_seg": [1]}},
    "tumor_edema_cavity_t1_t2": {
        "description": "Multiclass cord tumor/edema/cavity segmentation",
        "long_description": "ivadomed 3D U-Net on T1w + T2w of 243 patients.",
        "url": "https://github.com/ivadomed/model_seg_sctumor-edema-cavity_t2-t1_unet3d-multichannel",
        "models": ["findcord_tumor", "model_seg_sctumor-edema-cavity_t2-t1_unet3d-multichannel"],
        "citation": "Lemay A, et al. Automatic multiclass intramedullary spinal cord tumor segmentation "
                    "on MRI with deep learning. NeuroImage: Clinical 2021;31:102766.",
        "group": "pathology", "outputs": {"_tumor_seg": [1], "_edema_seg": [2], "_cavity_seg": [3]}},
    "rootlets": {
        "description": "Segmentation of spinal nerve rootlets for T2w and MP2RAGE contrasts",
        "long_description": "3D nnU-Net (RootletSeg), one class per spinal level (C2-T1), trained on "
                            "3T T2w and 7T MP2RAGE.",
        "url": "https://github.com/ivadomed/model-spinal-rootlets",
        "models": ["model_seg_spinal_rootlets_nnunet"],
        "citation": "Krejci K, et al. RootletSeg: Deep learning method for spinal rootlets segmentation "
                    "across MRI contrasts. arXiv:2509.16255 (2025).",
        "group": "other", "outputs": {"_rootlets": None}},
    "totalspineseg": {
        "description": "Intervertebral discs labeling and vertebrae segmentation",
        "long_description": "TotalSpineSeg: instance segmentation of vertebrae, discs, cord and canal, "
                            "two nnU-Net steps (-step1-only: discs, cord and canal only). "
                            "_step1_levels holds the disc point labels (3 = C2-C3, 4 = C3-C4, ...).",
        "url": "https://github.com/neuropoly/totalspineseg",
        "models": ["totalspineseg"],
        "citation": _TSS_CITATION,
        "group": "other",
        "outputs": {"_step1_canal": None, "_step1_cord": None, "_step1_levels": None,
                    "_step1_output": None, "_step2_output": None},
        # TotalSpineSeg output folder -> suffix written (see deepseg/totalspineseg.py)
        "totalspineseg_outputs": {f: "_" + f for f in ("step1_canal", "step1_cord", "step1_levels",
                                                       "step1_output", "step2_output")}},
    "spine": {
        "description": "Vertebrae, discs, cord and canal (TotalSpineSeg, v7.2 name)",
        "long_description": "TotalSpineSeg under its v7.2 name and output names: by default step 1 only, "
                            "_totalspineseg_discs (disc point labels, 3 = C2-C3, 4 = C3-C4, ...); with "
                            "-label-vert 1 also step 2, the full spine segmentation: "
                            "_totalspineseg_all (vertebrae labelled by level, C1 = 11 ... C7 = 17, "
                            "T1 = 21 ..., L1 = 41 ...; discs 63 = C2-C3 ...; cord 1, canal 2) and the "
                            "intermediate _step1_canal, _step1_cord, _step1_output, _step2_output.",
        "url": "https://github.com/neuropoly/totalspineseg",
        "models": ["totalspineseg"],
        "citation": _TSS_CITATION,
        "group": "other",
        "outputs": {"_totalspineseg_discs": None},
        "totalspineseg_outputs": {"step1_levels": "_totalspineseg_discs"},
        # -label-vert 1: (TotalSpineSeg output folder, suffix written), in the established order;
        # step 2's labels are written under both of their documented names
        "label_vert_outputs": [("step1_canal", "_step1_canal"), ("step1_cord", "_step1_cord"),
                               ("step1_levels", "_totalspineseg_discs"), ("step1_output", "_step1_output"),
                               ("step2_output", "_step2_output"), ("step2_output", "_totalspineseg_all")]},
}

GROUPS = {"spinal_cord": "SPINAL CORD", "gray_matter": "GRAY MATTER", "pathology": "PATHOLOGY",
          "other": "OTHER"}


def task_info(task: str) -> dict:
    """The registry entry of ``task``; unknown names raise a 'did you mean' error."""
    if task not in TASKS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("task", task, list(TASKS))
    return TASKS[task]


def task_list_text() -> str:
    """The task list shown by ``sct_deepseg -h``, grouped, one line per task."""
    lines = []
    for group, title in GROUPS.items():
        lines.append(f"  {title}")
        for name, info in TASKS.items():
            if info["group"] == group:
                lines.append(f"    {name:<26}{info['description']}")
    return "\n".join(lines)
