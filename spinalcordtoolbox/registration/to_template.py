"""Registration of a subject's anatomical image to a spinal-cord template (PAM50...).

1. The subject's cord centerline (from its segmentation) and the template's are both
   parametrised by arc length (:mod:`spinalcordtoolbox.straightening`).
2. Labels align them along the cord: one label gives a translation of arc length, two a
   translation + scaling, more (``-ldisc``, spinal levels, rootlets) a piecewise-linear
   matching of every label. Combined with the orthogonal planes of both centerlines, this
   is an analytic, invertible map between subject and template space that straightens the
   cord and matches the vertebral levels at once.
3. The ``-param`` steps (centre-of-mass + rotation, then B-spline SyN by default) refine it
   through the registration engine, on a template grid cropped to the subject's coverage.

The subject->template map is composed analytically with the steps' fields, so no field is
resampled twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from spinalcordtoolbox.image import Image, crop_image
from spinalcordtoolbox.straightening import (
    ArcLengthMap, CurveMapping, StraighteningError, centerline_curve, check_labels_in_segmentation,
    displacement_field, grid_world, label_arc_lengths, label_points, resample_through,
    resample_with_field)
from spinalcordtoolbox.registration.warp_template import read_slab

from spinalcordtoolbox.registration.template import DEFAULT_REGISTRATION_PARAM as DEFAULT_PARAM

logger = logging.getLogger(__name__)

#: label options -> (template label kind, matching along the cord). As in the established
#: toolbox, -l labels sit on the mid-vertebral slice (value 3 = middle of C3), -ldisc labels
#: on the discs (value 3 = C2-C3 disc).
LABEL_KINDS = {
    "l": ("body", "affine"),       # 1 label: translation, 2+: translation + scaling
    "ldisc": ("disc", "piecewise"),
    "lspinal": ("spinal", "piecewise"),
    "lrootlet": ("rootlet", "piecewise"),
}

_RAS2LPS = np.array([-1.0, -1.0, 1.0])


class RegistrationError(ValueError):
    """The registration cannot run with these inputs (the message says what to fix)."""


@dataclass
class TemplateRegistration:
    """Outputs of :func:`register_to_template` (fields as ITK LPS displacements)."""

    template_grid: Image            # grid of warp_anat2template / anat2template
    warp_anat2template: np.ndarray
    warp_template2anat: np.ndarray  # on the subject's grid
    anat2template: Image
    template2anat: Image
    init: CurveMapping              # label-based map (src = subject, dest = template)
    matched_labels: list = field(default_factory=list)


# ------------------------------------------------------------------ label alignment
def arc_length_map(subject_s: dict, template_s: dict, mode: str) -> tuple[ArcLengthMap, list]:
    """Match label arc lengths (template -> subject) for the label values both have."""
    common = sorted(set(subject_s) & set(template_s))
    missing = sorted(set(subject_s) - set(template_s))
    if missing:
        raise RegistrationError(
            f"Label value(s) {missing} do not exist in the template (it has "
            f"{sorted(template_s)}): check the label values (3 = C2-C3 disc, 4 = C3-C4...)")
    if not common:
        raise RegistrationError("No label to align the subject with the template")
    dest = np.array([template_s[v] for v in common])
    src = np.array([subject_s[v] for v in common])
    if mode == "affine" and len(common) > 2:
        # least-squares translation + scaling through all labels
        slope, intercept = np.polyfit(dest, src, 1)
        dest = np.array([dest.min(), dest.max()])
        src = slope * dest + intercept
    return ArcLengthMap.from_landmarks(dest, src), common


def label_alignment(im_seg: Image, im_labels: Image, template, label_option="l",
                    margin_mm=15.0) -> tuple[CurveMapping, Image, list]:
    """The label-based subject<->template map and the template cord cropped around it.

    Returns ``(mapping, template_cord_crop, matched_label_values)``.
    """
    if label_option not in LABEL_KINDS:
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("label option", label_option, LABEL_KINDS)
    kind, mode = LABEL_KINDS[label_option]
    seg = im_seg.copy().require_3d("segmentation")
    labels = im_labels.copy().require_3d("label image")
    if not np.any(seg.data):
        raise RegistrationError("The segmentation is empty")
    if labels.data.shape != seg.data.shape:
        raise RegistrationError(
            f"The labels {labels.data.shape} and the segmentation {seg.data.shape} are not on "
            f"the same grid")
    tpl_pts = template_label_points(template, kind)
    # sct_label_vertebrae's _labeled_discs holds the PMJ (50): a PMJ/conus label the template
    # lacks has nothing to match and is left out (disc values still must all exist)
    from spinalcordtoolbox.labeling.labels import NON_DISC_LABELS
    values = np.rint(np.nan_to_num(np.asarray(labels.data, float)))
    extra = [v for v in NON_DISC_LABELS if v not in tpl_pts and np.any(values == v)]
    if extra:
        logger.info("Label(s) %s not in the template: not used for the alignment",
                    ", ".join(map(str, extra)))
        labels.data = np.where(np.isin(values, extra), 0, labels.data)
    try:
        check_labels_in_segmentation(labels, seg)
    except StraighteningError as e:
        raise RegistrationError(str(e)) from None
    subject_curve = centerline_curve(seg)
    # point labels, or rootlet segmentations (one blob per level): centre of each value
    subject_pts = label_points(labels)

    # template: its cord centerline, cropped around the labels to keep the fit local and fast
    tpl_cord_full = Image(str(template.path("cord")))
    missing = sorted(set(subject_pts) - set(tpl_pts))
    if missing:
        raise RegistrationError(
            f"Label value(s) {missing} do not exist in the template's {kind} labels (it has "
            f"{sorted(tpl_pts)}): check the label values (-l: 3 = middle of C3, 4 = middle "
            f"of C4...; -ldisc: 3 = C2-C3 disc, 4 = C3-C4 disc...)")
    subject_s = label_arc_lengths(subject_curve, subject_pts)
    # the subject's cord length around its labels tells how much template to keep
    below = subject_s[min(subject_s, key=subject_s.get)]
    above = subject_curve.length - subject_s[max(subject_s, key=subject_s.get)]
    zs_tpl = [tpl_pts[v][2] for v in subject_s]
    zlo = min(zs_tpl) - below * 1.5 - margin_mm
    zhi = max(zs_tpl) + above * 1.5 + margin_mm
    tpl_cord = crop_world_z(tpl_cord_full, zlo, zhi)
    template_curve = centerline_curve(tpl_cord)
    template_s = label_arc_lengths(template_curve, {v: tpl_pts[v] for v in subject_s})
    arc, common = arc_length_map(subject_s, template_s, mode)
    mapping = CurveMapping(subject_curve, template_curve, arc)

    # final crop: the template region the subject's cord maps to, plus a margin
    s_ends = arc.to_dest(np.array([0.0, subject_curve.length]))
    ends = template_curve.from_curvilinear(s_ends, np.zeros(2), np.zeros(2))
    tpl_crop = crop_world_z(tpl_cord_full, ends[:, 2].min() - margin_mm, ends[:, 2].max() + margin_mm)
    logger.info("Label alignment on %d label(s) %s: subject cord %.1f mm -> template %.1f mm",
                len(common), common, subject_curve.length, abs(s_ends[1] - s_ends[0]))
    return mapping, tpl_crop, common


def template_label_points(template, kind) -> dict:
    """{value: world point} of the template's labels of a kind (see template.LABEL_FILES)."""
    im = Image(str(template.label_file(kind)))
    return vertebral_body_points(im) if kind == "body" else label_points(im)


def vertebral_body_points(im_levels: Image) -> dict:
    """Mid-vertebral points {level: world point}: centre of mass of each level's region of a
    vertebral-level map (as mid-vertebral labels are placed on the cord)."""
    data = np.asarray(im_levels.require_3d("vertebral levels").data)
    vox = np.nonzero(data > 0)  # the cord only: bounded memory on the 0.5 mm PAM50
    if len(vox[0]) == 0:
        raise RegistrationError("The template's vertebral level map is empty")
    levels = np.rint(data[vox]).astype(np.int64)
    values, inv = np.unique(levels, return_inverse=True)
    count = np.bincount(inv)
    centres = np.column_stack([np.bincount(inv, weights=v) / count for v in vox])
    world = im_levels.transfo_pix2phys(centres)
    return {int(v): w for v, w in zip(values, world)}


def crop_world_z(img: Image, zlo, zhi) -> Image:
    """Crop an image to the voxel slab covering world z in [zlo, zhi] (any orientation)."""
    nx, ny, nz = img.data.shape[:3]
    corners = np.array([[i, j, k] for i in (0, nx - 1) for j in (0, ny - 1) for k in (0, nz - 1)])
    world = img.transfo_pix2phys(corners)
    # find the voxel axis that runs along world z
    axis = int(np.argmax(np.abs(img.affine[2, :3])))
    lo_hi = []
    for zw in (zlo, zhi):
        p = img.transfo_phys2pix(np.array([[world[:, 0].mean(), world[:, 1].mean(), zw]]))[0]
        lo_hi.append(p[axis])
    lo = int(np.floor(max(min(lo_hi), 0)))
    hi = int(np.ceil(min(max(lo_hi), img.data.shape[axis] - 1)))
    if hi < lo:
        raise RegistrationError("The subject's cord maps outside the template")
    bounds = [0, None, 0, None, 0, None]
    bounds[2 * axis], bounds[2 * axis + 1] = lo, hi
    return crop_image(img, *bounds)


# ------------------------------------------------------------------ field helpers
def field_as_map(disp: np.ndarray, ref: Image):
    """The point map ``p -> p + d(p)`` (RAS world) of an ITK field on ``ref``'s grid."""
    from spinalcordtoolbox.registration.warp import DisplacementField

    f = DisplacementField(np.asarray(disp), ref.affine)

    def apply(world):
        return f.apply(np.asarray(world) * _RAS2LPS) * _RAS2LPS
    return apply


def working_grid(img: Image, voxel_mm: float) -> Image:
    """``img``'s field of view on voxels no finer than ``voxel_mm`` (registration runs there:
    the 0.5 mm PAM50 is 8x cheaper at a 1 mm subject's resolution)."""
    zooms = np.array(img.pixdim)
    new = np.maximum(zooms, voxel_mm)
    if np.allclose(new, zooms):
        return Image(np.zeros(img.data.shape[:3], np.float32), hdr=img.hdr, affine=img.affine)
    shape = np.array(img.data.shape[:3])
    new_shape = np.maximum(np.round(shape * zooms / new).astype(int), 1)
    # keep the field of view centred (the new grid's middle on the old one's), so that the
    # grid does not depend on the direction of the axes (a flipped template gives the same one)
    affine = img.affine.copy()
    affine[:3, :3] = img.affine[:3, :3] @ np.diag(new / zooms)
    first = ((shape - 1) - (new_shape - 1) * new / zooms) / 2
    affine[:3, 3] = img.transfo_pix2phys(first[None, :])[0]
    out = Image(np.zeros(tuple(new_shape), np.float32), affine=affine)
    out.hdr.set_zooms(tuple(new))
    return out


def warn_if_qform_sform_differ(img: Image, name: str, atol_mm=1e-3) -> bool:
    """Warn (and return True) when an image's qform and sform are both set and disagree: tools
    that read the other one (some viewers, ITK-based tools) place the image elsewhere."""
    qform, qcode = img.hdr.get_qform(coded=True)
    sform, scode = img.hdr.get_sform(coded=True)
    if not qcode or not scode or qform is None or sform is None:
        return False
    if np.allclose(qform, sform, atol=atol_mm):
        return False
    shift = float(np.abs(qform[:3, 3] - sform[:3, 3]).max())
    logger.warning("The qform and the sform of the %s differ (origins %.3g mm apart): the "
                   "sform is used here; other tools may use the qform. Make them equal "
                   "(e.g. sct_image -set-sform-to-qform) to avoid ambiguity", name, shift)
    return True


def _identity(world):
    return world


def register_to_template(im: Image, im_seg: Image, im_labels: Image, *, label_option="l",
                         contrast="t2", template=None, ref="template", param=None,
                         run_steps=True, remove_temp=True) -> TemplateRegistration:
    """Register a subject (image, cord segmentation, labels) to a template.

    ``ref="template"`` runs the ``-param`` steps in template space (moving: subject);
    ``ref="subject"`` runs them in subject space (moving: template; one or two labels).
    ``remove_temp=False`` keeps the registration engine's intermediate files.
    """
    from spinalcordtoolbox.registration.template import load_template

    if ref not in ("template", "subject"):
        from spinalcordtoolbox.utils.cli import choice_error
        raise choice_error("-ref", ref, ("template", "subject"))
    template = template if template is not None else load_template()
    for image, name in ((im, "input image"), (im_seg, "segmentation"), (im_labels, "label image")):
        warn_if_qform_sform_differ(image, name)
    im = im.copy().require_3d("input image")
    seg = im_seg.copy().require_3d("segmentation")
    labels = im_labels.copy().require_3d("label image")
    for other, name in ((seg, "segmentation"), (labels, "label image")):
        if other.data.shape != im.data.shape or not np.allclose(other.affine, im.affine, atol=1e-3):
            raise RegistrationError(
                f"The input image {im.data.shape} and the {name} {other.data.shape} are not on "
                f"the same voxel grid")
    tpl_contrast_path = template.contrast(contrast)  # clear error if missing
    steps = parse_steps(param) if run_steps else []         # fail fast on a bad -param

    mapping, tpl_crop, common = label_alignment(seg, labels, template, label_option)
    if ref == "subject" and len(common) > 2:
        # as the established toolbox: in subject space the labels only place the template
        # (translation, or translation + scaling), so more than two are refused
        raise RegistrationError(
            f"-ref subject works with one or two labels, got {len(common)} ({common}): keep one "
            f"or two labels, or use -ref template (it aligns every label)")
    tpl_cord = Image(str(template.path("cord")))
    # the template contrast is only read where it is needed (the 0.5 mm PAM50 is 40-80 MB)
    tpl_slab = read_slab(tpl_contrast_path, grid_world(tpl_crop))

    if ref == "template":
        work = working_grid(_around_cord(tpl_crop, tpl_crop), min(im.pixdim))
        fixed_im = resample_through(tpl_slab, work)
        fixed_seg = resample_through(tpl_crop, work)
        moving_im = resample_through(im, work, mapping.dest_to_src)
        moving_seg = resample_through(seg, work, mapping.dest_to_src)
    else:
        work = _around_cord(im, seg)
        fixed_im, fixed_seg = resample_through(im, work), resample_through(seg, work)
        moving_im = resample_through(tpl_slab, work, mapping.src_to_dest)
        moving_seg = resample_through(tpl_crop, work, mapping.src_to_dest)

    fwd, inv = _identity, _identity
    if steps:
        fwd_disp, inv_disp = _register_steps(moving_im, moving_seg, fixed_im, fixed_seg, steps,
                                             remove_temp)
        fwd, inv = field_as_map(fwd_disp, work), field_as_map(inv_disp, work)

    if ref == "template":
        def anat2tpl(p):  # template point -> subject point
            return mapping.dest_to_src(fwd(p))

        def tpl2anat(q):  # subject point -> template point
            return inv(mapping.src_to_dest(q))
    else:
        def anat2tpl(p):
            return inv(mapping.dest_to_src(p))

        def tpl2anat(q):
            return mapping.src_to_dest(fwd(q))

    tpl_grid = Image(np.zeros(tpl_crop.data.shape[:3], np.float32), hdr=tpl_crop.hdr, affine=tpl_crop.affine)
    logger.info("Computing the warping fields and warped images")
    warp_a2t = displacement_field(tpl_grid, anat2tpl, step_mm=min(im.pixdim))
    warp_t2a = displacement_field(im, tpl2anat, step_mm=min(im.pixdim))
    anat2template, warp_a2t = _embed_in_template(
        tpl_cord, tpl_grid, resample_with_field(im, tpl_grid, warp_a2t), warp_a2t)
    read_at = grid_world(im) + warp_t2a.reshape(-1, 3) * np.array([-1.0, -1.0, 1.0])
    return TemplateRegistration(
        template_grid=anat2template, warp_anat2template=warp_a2t, warp_template2anat=warp_t2a,
        anat2template=anat2template,
        template2anat=resample_with_field(read_slab(tpl_contrast_path, read_at), im, warp_t2a),
        init=mapping, matched_labels=common)


#: displacement (LPS mm) written where the subject has no correspondence: it sends the
#: point 100 m away, so any image pulled through the field reads 0 there (as ITK does
#: outside an image) instead of whatever lies at the unmoved position
NO_MAPPING = np.array([0.0, 0.0, 1e5], dtype=np.float32)


def _embed_in_template(full: Image, crop: Image, image_crop: Image, disp_crop: np.ndarray):
    """The image and field computed on a slab of the template, put on the full template grid
    (zeros / NO_MAPPING elsewhere), so that they can be used with any template file."""
    offset = np.rint(full.transfo_phys2pix(crop.affine[:3, 3][None, :])[0]).astype(int)
    if np.any(offset < 0) or np.any(offset + crop.data.shape[:3] > full.data.shape[:3]):
        return image_crop, disp_crop  # not a sub-grid: keep the slab as is
    sl = tuple(slice(o, o + n) for o, n in zip(offset, crop.data.shape[:3]))
    data = np.zeros(full.data.shape[:3], np.float32)
    data[sl] = image_crop.data
    disp = np.empty(full.data.shape[:3] + (3,), np.float32)
    disp[...] = NO_MAPPING
    disp[sl] = disp_crop
    hdr = full.hdr.copy()
    hdr.set_data_dtype(np.float32)
    return Image(data, hdr=hdr, affine=full.affine), disp


def _around_cord(img: Image, seg: Image, margin_mm=15.0) -> Image:
    """An empty float grid: ``img``'s grid cropped in-plane to the cord of ``seg`` (same grid)
    +/- ``margin_mm``, every slice kept (registration steps need no more, and run faster)."""
    si_axis = int(np.argmax(np.abs(img.affine[2, :3])))
    idx = np.argwhere(seg.data > 0)
    bounds = []
    for axis in range(3):
        if axis == si_axis:
            bounds += [0, None]
            continue
        pad = int(np.ceil(margin_mm / img.pixdim[axis]))
        bounds += [idx[:, axis].min() - pad, idx[:, axis].max() + pad]
    crop = crop_image(img, *bounds)
    return Image(np.zeros(crop.data.shape[:3], np.float32), hdr=crop.hdr, affine=crop.affine)


def parse_steps(param: str | None):
    """The ``-param`` steps: the user's steps replace or extend the default ones (same step
    number = replaced), validated by the registration engine's parser."""
    from spinalcordtoolbox.registration.param import parse_param
    return parse_param(param, defaults=parse_param(DEFAULT_PARAM))


def _register_steps(moving_im, moving_seg, fixed_im, fixed_seg, steps, remove_temp=True):
    """Run the ``-param`` steps through the registration engine; both fields on the
    (shared) working grid."""
    from spinalcordtoolbox.registration.engine import register

    res = register(moving_im, fixed_im, steps, src_seg=moving_seg, dest_seg=fixed_seg,
                   remove_temp=remove_temp)
    return res.warp_forward, res.warp_inverse


def save_registration(result: TemplateRegistration, ofolder=".") -> dict:
    """Write the four outputs with the established names into ``ofolder``."""
    import os

    from spinalcordtoolbox.registration.warp import write_warp

    os.makedirs(ofolder, exist_ok=True)
    paths = {name: os.path.join(ofolder, f"{name}.nii.gz") for name in
             ("warp_anat2template", "warp_template2anat", "anat2template", "template2anat")}
    write_warp(result.warp_anat2template, result.template_grid, paths["warp_anat2template"])
    write_warp(result.warp_template2anat, result.template2anat, paths["warp_template2anat"])
    result.anat2template.save(paths["anat2template"])
    result.template2anat.save(paths["template2anat"])
    return paths


def qc_images(result: TemplateRegistration, template_image: Image):
    """(template, anat2template) cropped to the template slices the subject covers, for QC."""
    a2t = result.anat2template
    si_axis = int(np.argmax(np.abs(a2t.affine[2, :3])))
    other = tuple(a for a in range(3) if a != si_axis)
    ks = np.flatnonzero(np.any(a2t.data != 0, axis=other))
    if len(ks) == 0:
        return template_image, a2t
    bounds = [0, None, 0, None, 0, None]
    bounds[2 * si_axis], bounds[2 * si_axis + 1] = ks[0], ks[-1]
    tpl = resample_through(template_image, a2t, order=1) \
        if template_image.data.shape[:3] != a2t.data.shape[:3] else template_image
    return crop_image(tpl, *bounds), crop_image(a2t, *bounds)
