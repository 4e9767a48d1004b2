"""The multi-step registration engine: run each ``-param`` step, compose their fields.

The source (image, segmentation) is first brought onto the destination grid through the
initial transform (the headers, or ``-initwarp``). Each step then estimates a transform
``T_k`` mapping destination points to points of the current moved source, either with ANTs
(translation, rigid, affine, syn, bsplinesyn; deformations restricted in z as
``deformation=1x1x0`` says) or with the cord-specific slice-wise algorithms. The result is one
forward field (on the destination grid: ``src -> dest``) and one inverse field (on the source
grid: ``dest -> src``), both ITK displacement fields; intermediate files live in a temporary
folder. Destination slices holding the segmentation that the initial transform does not map
(outside its field, or not reached by the source segmentation) are named in a warning, and the
ANTs steps are estimated only where the initial transform is defined.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from spinalcordtoolbox.image import Image, ImageError, check_same_grid
from spinalcordtoolbox.registration import warp as W
from spinalcordtoolbox.registration.param import ParamStep, SEG_ONLY_ALGOS, validate_step
from spinalcordtoolbox.utils.cli import SCTError

logger = logging.getLogger(__name__)

ANTS_ALGOS = ("translation", "rigid", "affine", "syn", "bsplinesyn")
_ANTS_NAMES = {"translation": "Translation", "rigid": "Rigid", "affine": "Affine",
               "syn": "SyN", "bsplinesyn": "BSplineSyN"}


@dataclass
class RegistrationResult:
    warp_forward: np.ndarray   # on the destination grid: pulls the source onto the destination
    warp_inverse: np.ndarray   # on the source grid: pulls the destination onto the source
    src_reg: Image             # source moved onto the destination grid
    dest_reg: Image            # destination moved onto the source grid
    step_transforms: list      # [(forward, inverse)] per step, transform objects


def _as_3d(im: Image | None, name: str) -> Image | None:
    if im is None:
        return None
    im = im.copy()
    if im.data.ndim > 3 and not im.is_3d():
        raise ImageError(f"The {name} must be 3-D, got a 4-D image {im.data.shape}: register a "
                         f"single volume (e.g. the mean, sct_maths -mean t) and apply the warp to "
                         f"the 4-D series with sct_apply_transfo")
    return im.require_3d(name)


def register(src: Image, dest: Image, steps: list[ParamStep], *, src_seg=None, dest_seg=None,
             src_label=None, dest_label=None, mask=None, init_warp=None, init_warp_inv=None,
             identity=False, interp="linear", remove_temp=True, progress=True) -> RegistrationResult:
    """Register ``src`` onto ``dest`` through ``steps``; see the module docstring.

    ``init_warp`` / ``init_warp_inv``: transform paths (natural order: the first is applied
    first to the source image). Without ``init_warp_inv`` the inverse of a field is computed
    numerically. ``remove_temp=False`` keeps the intermediate files (ANTs inputs/outputs).
    """
    from spinalcordtoolbox.utils.cli import progress_bar
    from spinalcordtoolbox.utils.fs import temporary_folder

    src, dest = _as_3d(src, "source image (-i)"), _as_3d(dest, "destination image (-d)")
    src_seg, dest_seg = _as_3d(src_seg, "source segmentation"), _as_3d(dest_seg, "destination segmentation")
    src_label, dest_label = _as_3d(src_label, "source labels"), _as_3d(dest_label, "destination labels")
    mask = _as_3d(mask, "mask")
    for s in steps:
        validate_step(s)
    _check_inputs(steps, src_seg, dest_seg, src_label, dest_label, src, dest)
    if mask is not None:
        check_same_grid(mask, dest, ("mask (-m)", "destination image (-d)"))

    # initial transform (pull chain, ANTs order = natural order reversed)
    init_fwd = [W.load_transform(t) for t in reversed(init_warp or [])]
    if init_warp_inv:
        init_inv = [W.load_transform(t) for t in reversed(init_warp_inv)]
    else:
        init_inv = [W.load_transform(t).inverse() for t in (init_warp or [])]

    ref = dest.copy().change_orientation("RPI")  # working grid: axial slices = data[:, :, z]
    if init_fwd:
        mask = _estimation_mask(check_init_coverage(init_fwd, dest, dest_seg=dest_seg, src_seg=src_seg,
                                                    init_names=init_warp), mask, ref)
    fwd_chain = list(init_fwd)   # reference point goes through the newest step first
    inv_chain = list(init_inv)
    step_transforms = []
    todo = [] if identity else [s for s in steps if s.step > 0]
    dest_seg_rpi = dest_seg.copy().change_orientation("RPI") if dest_seg is not None else None
    seg_now = None  # the source segmentation pulled through fwd_chain, once a step has computed it
    with temporary_folder("register", remove=remove_temp) as tmp:
        bar = progress_bar(todo, desc="Registration steps", unit="step") if progress else todo
        for s in bar:
            cur = _current_images(src, src_seg, src_label, ref, fwd_chain, s, seg_now)
            fixed = _fixed_images(dest, dest_seg_rpi, dest_label, ref, s)
            t_fwd, t_inv = _run_step(s, cur, fixed, ref, mask, tmp)
            outcome, seg_now = _step_outcome(src_seg, dest_seg_rpi, ref, fwd_chain, t_fwd, cur.get("seg"))
            logger.info("Step %d (type=%s, algo=%s)%s", s.step, s.type, s.algo, outcome)
            step_transforms.append((t_fwd, t_inv))
            fwd_chain = [t_fwd] + fwd_chain
            inv_chain = inv_chain + [t_inv]
        warp_forward = W.compose_warps(fwd_chain, dest)
        warp_inverse = W.compose_warps(inv_chain, src)
    field_fwd = W.DisplacementField(warp_forward, dest.affine)
    field_inv = W.DisplacementField(warp_inverse, src.affine)
    src_reg = W.apply_transforms(src, dest, [field_fwd], interp=interp)
    dest_reg = W.apply_transforms(dest, src, [field_inv], interp=interp)
    return RegistrationResult(warp_forward, warp_inverse, src_reg, dest_reg, step_transforms)


def check_init_coverage(init_transforms, dest: Image, dest_seg: Image | None = None,
                        src_seg: Image | None = None, init_names=None) -> np.ndarray:
    """Where the initial transform maps the destination, and a one-line warning naming the
    destination slices holding its segmentation that it leaves out.

    ``init_transforms``: the initial chain (ANTs order, as applied to destination points).
    Returns the boolean coverage on the RPI working grid (:func:`warp.chain_coverage`). Two
    cases are reported, in the destination's own slice numbers (along its S-I axis): slices
    outside a displacement field of the chain (e.g. an ``-initwarp`` made on an image that does
    not extend that far: ITK gives zero displacement there, so nothing maps the source onto
    them), and, with ``src_seg``, slices the source segmentation carried through the chain does
    not reach (e.g. an ``-initwarp`` that was itself composed from such a field). Nothing is
    invented for these slices: extrapolating the field along the cord would pick a template
    level by guess (the displacement along z encodes the vertebral level).
    """
    ref = dest.copy().change_orientation("RPI")
    covered = W.chain_coverage(init_transforms, ref)
    if dest_seg is None:
        return covered
    seg = dest_seg.copy().change_orientation("RPI").data > 0
    holds = seg.any(axis=(0, 1))
    outside = holds & (seg & ~covered).any(axis=(0, 1))
    unreached = np.zeros_like(holds)
    if src_seg is not None:
        moved = W.apply_transforms(src_seg, ref, init_transforms, interp="linear").data
        unreached = holds & ~outside & ~(moved > 0.5).any(axis=(0, 1))
    if outside.any() or unreached.any():
        names = ", ".join(os.path.basename(os.fspath(n)) for n in (init_names or [])
                          if isinstance(n, (str, os.PathLike))) or "the initial transform"
        parts = []
        if outside.any():
            parts.append(f"{_slice_list(outside, dest)} {'lies' if outside.sum() == 1 else 'lie'} outside "
                         f"the field of {names}")
        if unreached.any():
            parts.append(f"{_slice_list(unreached, dest)} {'is' if unreached.sum() == 1 else 'are'} not "
                         f"reached by the source segmentation carried through {names}")
        logger.warning("WARNING: %s %s: %d of the %d slices holding the destination segmentation are "
                       "not registered (the result does not map the source there). Make the initial "
                       "warp from an image covering them, or register to them directly.",
                       W._name(dest), "; ".join(parts), int((outside | unreached).sum()), int(holds.sum()))
    return covered


def _slice_list(flags_rpi: np.ndarray, dest: Image) -> str:
    """"slices 5-8 (z)": working-grid axial slice flags named in ``dest``'s own numbering."""
    orient = dest.orientation
    axis = next(i for i, c in enumerate(orient) if c in "SI")
    n = len(flags_rpi)
    # the working grid is RPI (slice index grows towards S); the file's axis may run the other way
    idx = np.flatnonzero(flags_rpi)
    idx = sorted(idx if orient[axis] == "I" else n - 1 - idx)
    runs, start = [], idx[0]
    for a, b in zip(idx, idx[1:] + [None]):
        if b is None or b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return f"slice{'s' if len(idx) > 1 else ''} {', '.join(runs)} ({'xyz'[axis]})"


def _estimation_mask(covered: np.ndarray, mask: Image | None, ref: Image) -> Image | None:
    """The ANTs steps are estimated only where the initial transform is defined: elsewhere the
    moving content is the source at an arbitrary place (its header position), and matching it
    would invent a deformation. ``None`` when it covers everything and there is no mask."""
    if covered.all():
        return mask
    out = np.asarray(covered, dtype=np.float32)
    if mask is not None:
        out = out * (mask.copy().change_orientation("RPI").data > 0)
    return Image(out, hdr=ref.hdr.copy(), affine=ref.affine)


def _check_inputs(steps, src_seg, dest_seg, src_label, dest_label, src, dest):
    for s in steps:
        if s.step == 0:
            continue
        if s.type in ("seg", "imseg") and (src_seg is None or dest_seg is None):
            raise SCTError(f"-param step {s.step} has type={s.type}: give both -iseg and -dseg")
        if s.type == "label" and (src_label is None or dest_label is None):
            raise SCTError(f"-param step {s.step} has type=label: give both -ilabel and -dlabel")
        if s.type == "label" and s.algo not in ("translation", "rigid", "affine"):
            raise SCTError(f"-param step {s.step}: type=label works with algo=translation, rigid "
                           f"or affine, not {s.algo}")
    for seg, im, name in ((src_seg, src, "-iseg"), (dest_seg, dest, "-dseg")):
        if seg is not None:
            check_same_grid(seg, im, (f"segmentation {name}", "image it belongs to"))
            if not np.any(seg.data > 0):
                raise SCTError(f"The segmentation {name} is empty")


def _step_outcome(src_seg, dest_seg_rpi, ref, fwd_chain, t_fwd, seg_before=None):
    """What a step achieved, for its one log line: the Dice of the two segmentations on the
    working grid before and after it, over the axial slices both held before the step (a
    template cord longer than the subject's field of view must not count as a mismatch); empty
    when either segmentation is missing. Also returns the source segmentation pulled through
    the chain with the step (None without segmentations), which the next step reuses."""
    if src_seg is None or dest_seg_rpi is None:
        return "", None
    from spinalcordtoolbox.metrics.similarity import dice

    fixed = dest_seg_rpi.data > 0.5
    if seg_before is None:
        seg_before = W.apply_transforms(src_seg, ref, fwd_chain, interp="linear")
    seg_after = W.apply_transforms(src_seg, ref, [t_fwd] + fwd_chain, interp="linear")
    before, after = seg_before.data > 0.5, seg_after.data > 0.5
    shared = before.any(axis=(0, 1)) & fixed.any(axis=(0, 1))
    if not shared.any():
        return ": the segmentations share no slice", seg_after
    return (f": segmentation Dice {dice(before[..., shared], fixed[..., shared]):.3f} -> "
            f"{dice(after[..., shared], fixed[..., shared]):.3f} over {int(shared.sum())} slices"), seg_after


def _current_images(src, src_seg, src_label, ref, fwd_chain, s, seg_now=None):
    """The source image/segmentation pulled onto the RPI working grid through the chain so far
    (``seg_now``: the segmentation already pulled through it, when the previous step did)."""
    out = {}
    if s.type in ("im", "imseg"):
        out["im"] = W.apply_transforms(src, ref, fwd_chain, interp="linear")
    if s.type in ("seg", "imseg"):
        out["seg"] = seg_now if seg_now is not None else W.apply_transforms(src_seg, ref, fwd_chain,
                                                                             interp="linear")
    if s.type == "label":
        out["label"] = src_label
        out["chain"] = fwd_chain
    return out


def _fixed_images(dest, dest_seg, dest_label, ref, s):
    out = {}
    if s.type in ("im", "imseg"):
        out["im"] = dest.copy().change_orientation("RPI")
    if s.type in ("seg", "imseg"):
        out["seg"] = dest_seg.copy().change_orientation("RPI")
    if s.type == "label":
        out["label"] = dest_label
    return out


def _run_step(s: ParamStep, cur, fixed, ref, mask, tmp):
    from spinalcordtoolbox.registration import slicewise

    mask_rpi = mask.copy().change_orientation("RPI") if mask is not None else None
    if s.type == "label":
        return _label_transform(cur["label"], fixed["label"], cur["chain"], s.algo)
    if s.algo in SEG_ONLY_ALGOS or s.algo == "slicereg":
        if s.algo == "slicereg":
            key = "im" if s.type in ("im", "imseg") else "seg"
            fwd, inv, _, _ = slicewise.slicereg(cur[key], fixed[key], metric=s.metric, poly=s.poly,
                                                mask=mask_rpi)
        elif s.algo == "columnwise":
            fwd, inv = slicewise.columnwise(cur["seg"], fixed["seg"], smooth_warp_xy=s.smoothWarpXY)
        else:
            fwd, inv, _, _ = slicewise.centermass(
                cur["seg"], fixed["seg"], rotation=s.algo == "centermassrot",
                pca_eigenratio_th=s.pca_eigenratio_th, rot_method=s.rot_method,
                filter_size=s.filter_size, src_im=cur.get("im"), dest_im=fixed.get("im"))
        return W.DisplacementField(fwd, ref.affine), W.DisplacementField(inv, ref.affine)
    if s.slicewise:
        return _ants_slicewise(s, cur, fixed, ref, mask_rpi, tmp)
    return _ants_step(s, cur, fixed, mask_rpi, tmp)


# ------------------------------------------------------------------ ANTs steps
def _ants_metric(metric, fixed_path, moving_path, weight=1):
    if metric == "CC":
        return f"CC[{fixed_path},{moving_path},{weight},4]"
    if metric == "MI":
        return f"MI[{fixed_path},{moving_path},{weight},32]"
    return f"MeanSquares[{fixed_path},{moving_path},{weight},0]"


def _ants_transform_arg(s: ParamStep):
    name = _ANTS_NAMES[s.algo]
    if s.algo == "syn":
        return f"SyN[{s.gradStep},3,0]"
    if s.algo == "bsplinesyn":
        return f"BSplineSyN[{s.gradStep},1,0,3]"
    return f"{name}[{s.gradStep}]"


def _ants_lib():
    """ANTsPy's compiled library (antsRegistration...), loaded without running the package's
    ``__init__``, which imports matplotlib, scikit-learn... (2.5 s of CPU per command). It is
    registered as ``ants.lib``, so a later ``import ants`` reuses it (the package only reads it
    through ``from ants import lib``)."""
    import glob
    import importlib.util
    import sys

    if "ants.lib" in sys.modules:
        return sys.modules["ants.lib"]
    spec = importlib.util.find_spec("ants")
    if spec is None or not spec.submodule_search_locations:
        raise SCTError("ANTsPy (antspyx) is not installed: pip install antspyx")
    found = glob.glob(os.path.join(list(spec.submodule_search_locations)[0], "lib.*"))
    if not found:
        import ants  # unusual layout: the regular import
        return ants.lib
    lib_spec = importlib.util.spec_from_file_location("ants.lib", found[0])
    lib = importlib.util.module_from_spec(lib_spec)
    lib_spec.loader.exec_module(lib)
    sys.modules["ants.lib"] = lib
    return lib


def _run_ants(args):
    """antsRegistration with a list of string arguments (files or image pointers)."""
    # ANTs uses every core unless ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS says otherwise
    ret = _ants_lib().antsRegistration([str(a) for a in args])
    if ret != 0:
        raise SCTError(f"ANTs registration failed (exit code {ret})")


def _ants_step(s: ParamStep, cur, fixed, mask, tmp):
    prefix = os.path.join(tmp, f"step{s.step}_")
    paths = {}
    for key in ("im", "seg"):
        if key in cur:
            paths[f"f_{key}"] = _save_float(fixed[key], os.path.join(tmp, f"step{s.step}_fixed_{key}.nii.gz"))
            paths[f"m_{key}"] = _save_float(cur[key], os.path.join(tmp, f"step{s.step}_moving_{key}.nii.gz"))
    metrics = []
    if s.type in ("im", "imseg"):
        metrics.append(_ants_metric(s.metric, paths["f_im"], paths["m_im"]))
    if s.type in ("seg", "imseg"):
        metrics.append(_ants_metric(s.metric if s.type == "seg" else "MeanSquares",
                                    paths["f_seg"], paths["m_seg"]))
    args = ["--dimensionality", "3", "--float", "1", "--collapse-output-transforms", "1",
            "--output", prefix, "--interpolation", "Linear", "--transform", _ants_transform_arg(s)]
    for m in metrics:
        args += ["--metric", m]
    args += ["--convergence", f"[{s.iter},1e-6,10]", "--shrink-factors", str(s.shrink),
             "--smoothing-sigmas", f"{s.smooth}mm"]
    if s.algo in ("syn", "bsplinesyn"):
        args += ["--restrict-deformation", s.deformation]
    else:
        restrict = _linear_restriction(s)
        if restrict:
            args += ["--restrict-deformation", restrict]
        if "seg" in cur:
            init = _centerline_alignment(cur["seg"], fixed["seg"], rotation=s.algo != "translation")
            if init is not None:
                path = os.path.join(tmp, f"step{s.step}_init.txt")
                W.write_affine(init, path)
                args += ["--initial-moving-transform", path]
    if mask is not None:
        args += ["--masks", _save_float(mask, os.path.join(tmp, "mask.nii.gz"))]
    args += ["--verbose", "0"]
    _run_ants(args)
    if s.algo in ("syn", "bsplinesyn"):
        fwd_im, fwd = W.read_warp(prefix + "0Warp.nii.gz")
        inv_im, inv = W.read_warp(prefix + "0InverseWarp.nii.gz")
        return W.DisplacementField(fwd, fwd_im.affine), W.DisplacementField(inv, inv_im.affine)
    affine = W.read_affine(prefix + "0GenericAffine.mat")
    return affine, affine.inverse()


def _linear_restriction(s: ParamStep) -> str | None:
    """ANTs ``--restrict-deformation`` weights of a 3-D linear transform for ``deformation``.

    With the default ``1x1x0`` (no motion along z, the axis of the thick slices of most cord
    acquisitions) a translation or a rigid transform keeps tz = 0 (rigid rotations stay free:
    they follow the cord's tilt) and an affine keeps the z row and column of its matrix. Without it, the gradient along z of a
    few 5-7 mm slices (or of a source covering fewer slices than the destination) dominates
    the optimiser's steps and the in-plane parameters barely move."""
    free = [p == "1" for p in s.deformation.split("x")]
    if all(free):
        return None
    fx, fy, fz = free
    if s.algo == "translation":
        weights = [fx, fy, fz]
    elif s.algo == "rigid":  # Euler angles about x, y, z then translations
        weights = [True, True, True, fx, fy, fz]
    else:  # matrix rows (x, y, z) then translation
        weights = [a and b for a in free for b in free] + free
    return "x".join("1" if w else "0" for w in weights)


def _centerline_alignment(moving_seg: Image, fixed_seg: Image, rotation: bool):
    """Initial linear transform (LPS mm, destination -> moving) aligning the centerlines of the
    two segmentations (centres of mass of the axial slices both cover), or None.

    The starting point of ANTs linear steps on segmentations: a binary mask gives the metric
    a gradient only within its own thickness, so a thin mask (white matter) a few mm away
    from its target gave no update at all (template WM left 4-6 mm off a T2* WM seg). The
    mean in-plane offset is always removed; with ``rotation`` (rigid, affine) and common slices
    spanning 10 mm or more, the smallest rotation turning one centerline's direction into the
    other's is added
    (a tilt between the two acquisitions: 10 iterations of ANTs left 60-80 % of a 4-7 degree
    tilt, i.e. 1-2 mm at the end slices of 7.5 mm thick T2* slices). The rotation about the
    cord's axis stays for ANTs to find."""
    mov, fix = moving_seg.data, fixed_seg.data
    ii, jj = np.meshgrid(np.arange(fix.shape[0]), np.arange(fix.shape[1]), indexing="ij")
    c_mov, c_fix = [], []
    for z in range(fix.shape[2]):
        m, f = np.clip(mov[:, :, z], 0, None), np.clip(fix[:, :, z], 0, None)
        if m.sum() <= 0 or f.sum() <= 0:
            continue
        c_mov.append([(ii * m).sum() / m.sum(), (jj * m).sum() / m.sum(), z])
        c_fix.append([(ii * f).sum() / f.sum(), (jj * f).sum() / f.sum(), z])
    if not c_fix:
        return None
    aff = fixed_seg.affine
    p_mov, p_fix = ((np.asarray(c) @ aff[:3, :3].T + aff[:3, 3]) * np.array([-1.0, -1.0, 1.0]) for c in (c_mov, c_fix))
    q_mov, q_fix = p_mov.mean(axis=0), p_fix.mean(axis=0)
    rot = np.eye(3)
    # a direction needs a length: over less than 10 mm the centres' scatter would make the tilt
    if rotation and np.ptp(p_fix[:, 2]) >= 10.0:
        rot = _rotation_between(_line_direction(p_fix), _line_direction(p_mov))
        if np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1, 1))) > 30:
            rot = np.eye(3)  # not a tilt between two acquisitions (curved or broken segmentation)
    return W.AffineTransform(rot, q_mov - rot @ q_fix)


def _line_direction(points):
    """Unit direction of the least-squares line through points (their first principal axis)."""
    centred = points - points.mean(axis=0)
    u = np.linalg.svd(centred, full_matrices=False)[2][0]
    return u if u[2] >= 0 else -u


def _rotation_between(a, b):
    """The smallest rotation turning unit vector ``a`` into unit vector ``b`` (Rodrigues)."""
    v, c = np.cross(a, b), float(np.dot(a, b))
    s2 = float(v @ v)
    if s2 < 1e-12:
        return np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * ((1 - c) / s2)


def _ants_slicewise(s, cur, fixed, ref, mask, tmp):
    """2-D ANTs registration of each axial slice, stacked into a 3-D in-plane field.

    translation/rigid/affine: one 2-D transform per slice; syn/bsplinesyn: one 2-D
    diffeomorphic field per slice (forward and inverse), as the established toolbox does with
    ``slicewise=1``. Slices where the fixed or the moving image is flat (no content, e.g. outside
    the other image's coverage) keep a zero displacement.
    """
    key = "im" if s.type in ("im", "imseg") else "seg"
    mov, fix = cur[key].data.astype(np.float32), fixed[key].data.astype(np.float32)
    msk = None if mask is None else (mask.data > 0).astype(np.float32)
    px, py = (float(v) for v in ref.pixdim[:2])
    nx, ny, nz = fix.shape
    fwd = np.zeros((nx, ny, nz, 3))
    inv = np.zeros((nx, ny, nz, 3))
    for z in range(nz):
        if np.ptp(fix[:, :, z]) == 0 or np.ptp(mov[:, :, z]) == 0:
            continue
        if msk is not None and not msk[:, :, z].any():
            continue
        mz = None if msk is None else msk[:, :, z]
        f2d, i2d = _ants_slice(s, fix[:, :, z], mov[:, :, z], mz, (px, py),
                               os.path.join(tmp, f"step{s.step}_z{z}_"))
        fwd[:, :, z, :2], inv[:, :, z, :2] = f2d, i2d
    return (W.DisplacementField(W.displacement_from_voxel_shifts(ref, fwd), ref.affine),
            W.DisplacementField(W.displacement_from_voxel_shifts(ref, inv), ref.affine))


def _ants_slice(s, fix2d, mov2d, mask2d, spacing, prefix):
    """One slice through antsRegistration in 2-D: (forward, inverse) in-plane shifts in voxels
    (nx, ny, 2). The slices are ANTs images with identity direction and origin 0, so physical
    coordinates are voxel indices times the spacing."""
    import ants
    from ants.internal import get_pointer_string as ptr

    f = ants.from_numpy(np.ascontiguousarray(fix2d), spacing=spacing)
    m = ants.from_numpy(np.ascontiguousarray(mov2d), spacing=spacing)
    args = ["--dimensionality", "2", "--float", "1", "--collapse-output-transforms", "1",
            "--output", prefix, "--interpolation", "Linear",
            "--transform", _ants_transform_arg(s),
            "--metric", _ants_metric(s.metric, ptr(f), ptr(m)),
            "--convergence", f"[{s.iter},1e-6,10]", "--shrink-factors", str(s.shrink),
            "--smoothing-sigmas", f"{s.smooth}mm"]
    if s.algo in ("syn", "bsplinesyn"):
        args += ["--restrict-deformation", "x".join(s.deformation.split("x")[:2])]
    if mask2d is not None:
        mk = ants.from_numpy(np.ascontiguousarray(mask2d), spacing=spacing)
        args += ["--masks", ptr(mk)]
    args += ["--verbose", "0"]
    _run_ants(args)
    nx, ny = fix2d.shape
    sp = np.asarray(spacing)
    if s.algo in ("syn", "bsplinesyn"):
        fwd = ants.image_read(prefix + "0Warp.nii.gz").numpy() / sp
        inv = ants.image_read(prefix + "0InverseWarp.nii.gz").numpy() / sp
        return fwd, inv
    tx = ants.read_transform(prefix + "0GenericAffine.mat")
    ii, jj = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float), indexing="ij")
    pts = np.stack([ii.ravel(), jj.ravel()], axis=1) * sp
    out = []
    for t in (tx, tx.invert()):
        mapped = np.array([t.apply_to_point(tuple(p)) for p in pts])
        out.append(((mapped - pts) / sp).reshape(nx, ny, 2))
    return out[0], out[1]


def _save_float(im: Image, path):
    out = im.copy()
    out.data = out.data.astype(np.float32)
    out.hdr.set_data_dtype(np.float32)
    out.save(path, verbose=False)
    return path


# ------------------------------------------------------------------ label steps
def _label_transform(src_label: Image, dest_label: Image, chain, algo):
    """Least-squares translation/rigid/affine between point labels matched by value (LPS mm)."""
    src_pts = {int(v): p for *p, v in src_label.nonzero_coords()}
    dest_pts = {int(v): p for *p, v in dest_label.nonzero_coords()}
    common = sorted(set(src_pts) & set(dest_pts))
    needed = {"translation": 1, "rigid": 3, "affine": 4}[algo]
    if len(common) < needed:
        raise SCTError(f"type=label,algo={algo} needs at least {needed} label value(s) present in "
                       f"both -ilabel and -dlabel; common values: {common or 'none'}")
    lps = lambda im, pts: im.transfo_pix2phys(np.array(pts)) * np.array([-1.0, -1.0, 1.0])
    d = lps(dest_label, [dest_pts[v] for v in common])
    s = lps(src_label, [src_pts[v] for v in common])
    # the step maps dest points to the current moved source: invert the chain so far on s
    inv_chain = W.Composite([t.inverse() for t in reversed(chain)]) if chain else None
    if inv_chain is not None:
        s = inv_chain.apply(s)
    if algo == "translation":
        t = W.AffineTransform(np.eye(3), (s - d).mean(axis=0))
    elif algo == "rigid":
        cd, cs = d.mean(0), s.mean(0)
        u, _, vt = np.linalg.svd((d - cd).T @ (s - cs))
        r = (u @ vt).T
        if np.linalg.det(r) < 0:
            vt[-1] *= -1
            r = (u @ vt).T
        t = W.AffineTransform(r, cs - r @ cd)
    else:
        x = np.hstack([d, np.ones((len(d), 1))])
        sol, *_ = np.linalg.lstsq(x, s, rcond=None)
        t = W.AffineTransform(sol[:3].T, sol[3])
    return t, t.inverse()
