"""Benchmark (run by hand, not collected by pytest): sct_propseg's cord detection on a robustness set
built from sct_testing_data, with no model download (the cord/CSF ring detector).

    PYTHONPATH=$PWD .venv/bin/python testing/benchmarks/bench_propseg_robustness.py [-cnn] [-k NAME]

Every contrast of the test data (t2, t1w, t2s, mt1, dwi_mean) is transformed as images from other
sites and protocols differ from it, and the manual segmentation is transformed identically:

- ``thick5``: axial slices 5 mm thick (the mean of the thin slices each one covers: partial volume);
- ``pad``: embedded in a 180 mm field of view (zero-padded, as a large axial FOV around the neck);
- ``crop``: a 36 mm in-plane field of view with the cord off-centre, and half of the slices;
- ``reorient``: the same voxels stored in another orientation (header kept consistent);
- ``flipAP`` / ``flipSI``: the data mirrored front-back / upside-down (header unchanged);
- ``noise``: Rician noise, sigma 6 % of the 99th intensity percentile;
- ``bias``: a smooth multiplicative field varying by a factor 2.7 over 100 mm;
- ``combo``: 5 mm slices (when thinner), 180 mm FOV, noise and bias together;
- ``mtfov``: the grid of the axial MT scan that failed (192 x 192 voxels of 0.9 mm, 172.8 mm field of
  view, 5 mm slices where the source's are thinner; thicker ones are kept).

All sizes are in mm, so a case means the same on every input grid. The dwi mean image has no
manual segmentation: its cases are scored by the distance of the segmentation's centre to the
manual (optic) centerline instead of Dice. The ``lumbar-*`` cases are simulated from the PAM50
template (see :func:`make_lumbar_case`): sct_testing_data has no lumbar image. Prints one line per
case (Dice, the largest distance of a slice's centre to the reference's, and for lumbar cases where
the segmentation stops relative to the conus) and a summary.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

#: (name, image, reference, -c, reference kind)
SOURCES = [
    ("t2", "t2/t2.nii.gz", "t2/t2_seg-manual.nii.gz", "t2", "seg"),
    ("t1", "t1/t1w.nii.gz", "t1/t1w_seg-manual.nii.gz", "t1", "seg"),
    ("t2s", "t2s/t2s.nii.gz", "t2s/t2s_seg.nii.gz", "t2s", "seg"),
    ("mt1", "mt/mt1.nii.gz", "mt/mt1_seg.nii.gz", "t2s", "seg"),
    ("dwi", "dmri/dwi_mean.nii.gz", "dmri/dwi_mean_centerline-optic.nii.gz", "dwi", "centerline"),
]
TRANSFORMS = ["orig", "thick5", "pad", "crop", "reorient", "flipAP", "flipSI", "noise", "bias", "combo",
              "mtfov"]
REORIENT = {"t2": "LSA", "t1": "PIR", "t2s": "ASR", "mt1": "SAL", "dwi": "IRP"}


def _rpi(im):
    from spinalcordtoolbox.image import Image
    out = im.copy().change_orientation("RPI")
    return Image(out.data.astype(np.float32), affine=out.affine.copy())


def _make(data, affine):
    from spinalcordtoolbox.image import Image
    return Image(np.ascontiguousarray(data, dtype=np.float32), affine=affine)


def thick_slices(data, affine, thickness=5.0):
    """Axial slices ``thickness`` mm thick: each one the mean of the thin slices whose centres it covers."""
    dz = float(np.linalg.norm(affine[:3, 2]))
    n = max(1, int(round(thickness / dz)))
    if n == 1:
        return data, affine
    nz = data.shape[2] // n
    out = data[:, :, :nz * n].reshape(data.shape[0], data.shape[1], nz, n).mean(axis=3)
    aff = affine.copy()
    aff[:3, 3] = affine[:3, 3] + affine[:3, 2] * (n - 1) / 2  # centre of the first block
    aff[:3, 2] = affine[:3, 2] * n
    return out, aff


def pad_fov(data, affine, fov_mm=180.0):
    """Zero-pad in-plane (cord kept where it is, off the new centre) to a field of view of ``fov_mm``."""
    px, py = (float(np.linalg.norm(affine[:3, i])) for i in range(2))
    tx, ty = int(round(fov_mm / px)), int(round(fov_mm / py))
    ax, ay = max(0, tx - data.shape[0]), max(0, ty - data.shape[1])
    lx, ly = ax // 3, (2 * ay) // 3  # asymmetric: the cord does not end up in the middle
    out = np.pad(data, ((lx, ax - lx), (ly, ay - ly), (0, 0)))
    aff = affine.copy()
    aff[:3, 3] = affine[:3, 3] - affine[:3, 0] * lx - affine[:3, 1] * ly
    return out, aff


def crop_fov(data, affine, ref, fov_mm=36.0):
    """In-plane box of ``fov_mm`` with the cord (reference centre) at a third of the box; half the slices."""
    px, py = (float(np.linalg.norm(affine[:3, i])) for i in range(2))
    cx, cy = np.argwhere(ref > 0).mean(axis=0)[:2]
    wx, wy = int(round(fov_mm / px)), int(round(fov_mm / py))
    x0 = int(np.clip(round(cx - wx / 3), 0, max(0, data.shape[0] - wx)))
    y0 = int(np.clip(round(cy - 2 * wy / 3), 0, max(0, data.shape[1] - wy)))
    nz = data.shape[2]
    z0, z1 = nz // 4, max(nz // 4 + 2, (3 * nz) // 4)
    sl = (slice(x0, x0 + wx), slice(y0, y0 + wy), slice(z0, z1))
    aff = affine.copy()
    aff[:3, 3] = affine[:3, 3] + affine[:3, :3] @ np.array([x0, y0, z0])
    return sl, aff


def rician(data, rng, rel_sigma=0.06):
    sigma = rel_sigma * float(np.percentile(data, 99))
    return np.hypot(data + rng.normal(0, sigma, data.shape), rng.normal(0, sigma, data.shape))


def bias_field(data, affine, amplitude=1.0, length_mm=100.0):
    """exp(amplitude * (linear ramp across 100 mm + a quadratic bowl)): factor e over 100 mm."""
    idx = np.indices(data.shape).reshape(3, -1).T
    mm = idx @ affine[:3, :3].T
    mm -= mm.mean(axis=0)
    u = mm / length_mm
    field = np.exp(amplitude * (0.6 * u[:, 0] - 0.4 * u[:, 1] + 0.3 * u[:, 2] + 0.5 * (u[:, 0] ** 2 + u[:, 1] ** 2)))
    return data * field.reshape(data.shape)


def _nearest_points(resampled):
    """A centerline resampled linearly: one voxel per slice at the weighted mean position."""
    out = np.zeros(resampled.data.shape, dtype=np.float32)
    for z in range(out.shape[2]):
        w = resampled.data[:, :, z]
        if w.sum() > 0:
            x, y = np.rint((np.argwhere(w > 0) * w[w > 0][:, None]).sum(axis=0) / w[w > 0].sum()).astype(int)
            out[x, y, z] = 1
    return out


def make_case(data_dir, source: str, transform: str, seed: int = 0):
    """(image, reference, contrast, reference kind) for one case; both images share one grid."""
    from spinalcordtoolbox.image import Image

    name, img_path, ref_path, contrast, kind = next(s for s in SOURCES if s[0] == source)
    im = _rpi(Image(str(Path(data_dir) / img_path)))
    ref = _rpi(Image(str(Path(data_dir) / ref_path)))
    data, aff, gt = im.data, im.affine, ref.data
    rng = np.random.default_rng(seed)
    if transform in ("thick5", "combo", "mtfov"):
        data, aff_t = thick_slices(data, aff)
        if kind == "seg":
            gt, _ = thick_slices(gt, aff)
            gt = (gt >= 0.5).astype(np.float32)
        else:  # a centerline: keep one voxel per thick slice (the mean position)
            g, _ = thick_slices(gt, aff)
            gt = np.zeros_like(g)
            for z in range(g.shape[2]):
                if g[:, :, z].any():
                    x, y = np.rint(np.argwhere(g[:, :, z] > 0).mean(axis=0)).astype(int)
                    gt[x, y, z] = 1
        aff = aff_t
    if transform == "mtfov":  # the failing axial MT scan's grid: 0.9 mm pixels, 192 x 192 (172.8 mm)
        from spinalcordtoolbox.resampling import resample_to_grid

        pix = np.array([float(np.linalg.norm(aff[:3, i])) for i in range(2)])
        shape = tuple(int(v) for v in np.floor(np.array(data.shape[:2]) * pix / 0.9)) + (data.shape[2],)
        grid = aff.copy()
        grid[:3, :2] = aff[:3, :2] * (0.9 / pix)
        moved = [resample_to_grid(_make(d, aff), shape, grid, "linear", fill="nearest") for d in (data, gt)]
        data, aff = moved[0].data, moved[0].affine
        gt = (moved[1].data >= 0.5).astype(np.float32) if kind == "seg" else _nearest_points(moved[1])
        data, aff_p = pad_fov(data, aff, 192 * 0.9)
        gt, _ = pad_fov(gt, aff, 192 * 0.9)
        aff = aff_p
    if transform in ("pad", "combo"):
        data, aff_p = pad_fov(data, aff)
        gt, _ = pad_fov(gt, aff)
        aff = aff_p
    if transform == "crop":
        sl, aff = crop_fov(data, aff, gt)
        data, gt = data[sl], gt[sl]
    if transform == "flipAP":
        data, gt = data[:, ::-1], gt[:, ::-1]
    if transform == "flipSI":
        data, gt = data[:, :, ::-1], gt[:, :, ::-1]
    if transform in ("bias", "combo"):
        data = bias_field(data, aff)
    if transform in ("noise", "combo"):
        data = rician(data, rng)
    image, reference = _make(data, aff), _make(gt, aff)
    if transform == "reorient":
        image.change_orientation(REORIENT[source])
        reference.change_orientation(REORIENT[source])
    return image, reference, contrast, kind


#: lumbar cases built from the PAM50 template (see :func:`make_lumbar_case`)
LUMBAR = ["sag", "fov", "thick3", "flipSI"]


def _block_mean(data, factors):
    """Mean over blocks of ``factors`` voxels (partial volume of the coarser voxels); edges dropped."""
    fx, fy, fz = factors
    nx, ny, nz = (s // f for s, f in zip(data.shape, factors))
    d = data[:nx * fx, :ny * fy, :nz * fz].reshape(nx, fx, ny, fy, nz, fz)
    return d.mean(axis=(1, 3, 5))


def _tissue_fill(shape, level, rng, voxel_mm):
    """Body-tissue stand-in around the template's field of view: ``level`` modulated by a smooth
    random texture (+-30 %, 8 mm correlation length)."""
    from scipy.ndimage import gaussian_filter

    tex = gaussian_filter(rng.normal(0, 1, shape), [8.0 / v for v in voxel_mm])
    tex /= tex.std() or 1.0
    return level * np.exp(0.3 * tex)


def make_lumbar_case(pam50_dir, variant: str, seed: int = 0):
    """(image, reference, "t2", "seg") of a sagittal lumbar T2 acquisition simulated from the PAM50 template.

    The template (0.5 mm, T2) is cropped to the vertebral levels T9 to its lower end (mid-L2: the
    conus and the first ~20 mm of the canal below it), to a 38 mm left-right field of view around the
    cord, block-averaged to 1 mm voxels, given a smooth bias field and Rician noise, and stored in a
    sagittal orientation. The cord mask is transformed identically (block mean >= 0.5). Variants:

    - ``sag``: T9 to L2 (~171 mm), the template's own 70 mm antero-posterior extent; stored RSP;
    - ``fov``: the shape of the failing sagittal lumbar scan, 38 x 257 x 201 voxels of 1 mm: the canal
      continued 40 mm below the template's end by repeating its last slice (a canal without cord,
      as the cauda equina), the template extended upwards, and body-tissue texture around its 70 mm
      antero-posterior field of view up to 201 mm; stored RSP;
    - ``thick3``: as ``fov`` with 3 mm thick sagittal slices (12 x 257 x 201); stored AIL (the slice
      axis last, as sct_testing_data's t2);
    - ``flipSI``: as ``fov``, mirrored head-feet (header unchanged: the conus at the top).
    """
    from spinalcordtoolbox.image import Image

    tdir = Path(pam50_dir) / "template"
    t2 = _rpi(Image(str(tdir / "PAM50_t2.nii.gz")))
    cord = _rpi(Image(str(tdir / "PAM50_cord.nii.gz"))).data
    levels = _rpi(Image(str(tdir / "PAM50_levels.nii.gz"))).data
    data = t2.data.astype(np.float64)
    aff = t2.affine.copy()
    vox = np.array([float(np.linalg.norm(aff[:3, i])) for i in range(3)])
    rng = np.random.default_rng(seed)
    # T9 is vertebral level 16 of the template's levels (1-7 cervical, 8-19 thoracic, 20... lumbar)
    z_t9_top = int(np.nonzero((levels == 16).any(axis=(0, 1)))[0].max())
    big = variant != "sag"
    si_mm, ap_mm, below_mm = (257.0, 201.0, 40.0) if big else (None, None, 0.0)
    z_top = int(round((si_mm - below_mm) / vox[2])) if big else z_t9_top + 1
    cx = int(round(np.argwhere(cord[:, :, :z_top] > 0)[:, 0].mean()))
    half = int(round(19.0 / vox[0]))
    sl = (slice(cx - half, cx + half), slice(None), slice(0, z_top))
    data, gt = data[sl], cord[sl].astype(np.float64)
    aff[:3, 3] = aff[:3, 3] + aff[:3, 0] * (cx - half)
    if below_mm:  # the canal continues below the template's end (no cord there)
        nb = int(round(below_mm / vox[2]))
        data = np.concatenate([np.repeat(data[:, :, :1], nb, axis=2), data], axis=2)
        gt = np.concatenate([np.zeros(gt.shape[:2] + (nb,)), gt], axis=2)
        aff[:3, 3] = aff[:3, 3] - aff[:3, 2] * nb
    lr = 3.0 if variant == "thick3" else 1.0
    factors = (int(round(lr / vox[0])), int(round(1.0 / vox[1])), int(round(1.0 / vox[2])))
    data, gt = _block_mean(data, factors), (_block_mean(gt, factors) >= 0.5).astype(np.float32)
    aff[:3, 3] = aff[:3, 3] + aff[:3, :3] @ ((np.array(factors) - 1) / 2)  # centre of the first block
    aff[:3, :3] = aff[:3, :3] @ np.diag(factors)
    if big:  # body tissue around the template's antero-posterior field of view
        ny = int(round(ap_mm / 1.0))
        before = (ny - data.shape[1]) // 2
        fill = _tissue_fill((data.shape[0], ny, data.shape[2]), float(np.median(data[data > 0])), rng,
                            (lr, 1.0, 1.0))
        fill[:, before:before + data.shape[1]] = data
        data = fill
        gt = np.pad(gt, ((0, 0), (before, ny - before - gt.shape[1]), (0, 0)))
        aff[:3, 3] = aff[:3, 3] - aff[:3, 1] * before
    if variant == "flipSI":
        data, gt = data[:, :, ::-1], gt[:, :, ::-1]
    data = rician(bias_field(data, aff), rng)
    image, reference = _make(data, aff), _make(gt, aff)
    orient = "AIL" if variant == "thick3" else "RSP"
    image.change_orientation(orient)
    reference.change_orientation(orient)
    return image, reference, "t2", "seg"


def cases():
    for source, *_ in SOURCES:
        for transform in TRANSFORMS:
            yield source, transform
    for variant in LUMBAR:
        yield "lumbar", variant


def score(seg, reference, kind):
    """Dice with the reference segmentation, or mean/max distance (mm) of the segmentation's centre
    per slice to the reference centerline."""
    from spinalcordtoolbox.metrics.similarity import dice

    s = _rpi(seg)
    r = _rpi(reference)
    dists, missing = [], 0
    for z in range(r.data.shape[2]):
        if not r.data[:, :, z].any():
            continue
        if not s.data[:, :, z].any():
            missing += 1
            continue
        d = (np.argwhere(s.data[:, :, z] > 0).mean(axis=0) - np.argwhere(r.data[:, :, z] > 0).mean(axis=0))
        dists.append(float(np.hypot(*(d * s.pixdim[:2]))))
    out = {"centre_mm": float(np.mean(dists)) if dists else float("nan"),
           "max_mm": float(np.max(dists)) if dists else float("nan"), "missing": missing}
    if kind == "seg":  # centre distances: slices that drift off the cord
        out["dice"] = float(dice(seg.data > 0, reference.data > 0))
    return out


def conus_gap(seg, reference):
    """Distance (mm) from the end of the segmentation to the conus: the end of the reference where its
    area is still >= 8 mm2 (the smallest cord section propseg keeps). Positive: stops short of the
    conus; negative: continues past it (into the cauda equina)."""
    from spinalcordtoolbox.propseg.detect import AREA_RANGE_MM2

    s, r = _rpi(seg), _rpi(reference)
    px = float(np.prod(r.pixdim[:2]))
    zr = np.nonzero(r.data.sum(axis=(0, 1)) * px >= AREA_RANGE_MM2[0])[0]
    zs = np.nonzero(s.data.any(axis=(0, 1)))[0]
    if not len(zs):
        return float("nan")
    nz = r.data.shape[2]
    # the conus is the reference's end away from the image's edge
    if zr[0] > nz - 1 - zr[-1]:
        return float((zs[0] - zr[0]) * r.pixdim[2])
    return float((zr[-1] - zs[-1]) * r.pixdim[2])


def run_case(data_dir, source, transform, use_cnn=False):
    """``source`` "lumbar": ``data_dir`` is PAM50's folder and ``transform`` a variant of LUMBAR."""
    from spinalcordtoolbox.propseg.core import propseg

    if source == "lumbar":
        image, reference, contrast, kind = make_lumbar_case(data_dir, transform)
    else:
        image, reference, contrast, kind = make_case(data_dir, source, transform)
    t = time.perf_counter()
    try:
        seg, _ = propseg(image, contrast, use_cnn=use_cnn)
        result = score(seg, reference, kind)
        if source == "lumbar":
            result["conus_mm"] = conus_gap(seg, reference)
        result["found"] = bool(seg.data.any())
    except Exception as e:  # noqa: BLE001 -- a failed detection is a result here
        result = {"found": False, "error": f"{type(e).__name__}: {str(e)[:80]}"}
    result["seconds"] = time.perf_counter() - t
    return result


def main(argv=None):
    import argparse
    import logging

    from spinalcordtoolbox.download import find_data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-cnn", action="store_true", help="let propseg use the cnn centerline weights")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    data_dir = find_data("sct_testing_data")
    rows = []
    for source, transform in cases():
        name = f"{source}-{transform}"
        if args.k not in name:
            continue
        r = run_case(data_dir if source != "lumbar" else find_data("PAM50"), source, transform,
                     use_cnn=args.cnn)
        rows.append((name, r))
        if "dice" in r:
            value = f"Dice {r['dice']:.3f}, centre max {r['max_mm']:.1f} mm"
            if "conus_mm" in r:
                value += f", conus {r['conus_mm']:+.0f} mm"
        elif "centre_mm" in r:
            value = f"centre {r['centre_mm']:.2f} mm (max {r['max_mm']:.2f}, {r['missing']} slices missed)"
        else:
            value = "FAILED " + r.get("error", "")
        print(f"{name:16s} {value:60s} {r['seconds']:5.1f} s", flush=True)
    for label, group in (("sct_testing_data", [(n, r) for n, r in rows if not n.startswith("lumbar")]),
                         ("lumbar (PAM50)", [(n, r) for n, r in rows if n.startswith("lumbar")])):
        if not group:
            continue
        found = sum(r["found"] for _, r in group)
        dices = [r["dice"] for _, r in group if "dice" in r]
        n_seg = sum(1 for name, _ in group if not name.startswith("dwi"))
        good = sum(d >= 0.85 for d in dices)
        print(f"{label}: cord found {found}/{len(group)}; Dice >= 0.85: {good}/{n_seg} "
              f"({100 * good / max(1, n_seg):.0f} %); median Dice "
              f"{np.median(dices) if dices else float('nan'):.3f}")
    ctr = [r for name, r in rows if name.startswith("dwi")]
    if ctr:
        ok = sum(r.get("max_mm", np.inf) <= 2.0 and r.get("missing", 1) == 0 for r in ctr)
        print(f"dwi cases with every slice's centre within 2 mm of the manual centerline: {ok}/{len(ctr)}")


if __name__ == "__main__":
    main()
