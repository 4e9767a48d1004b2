"""Automatic vertebral labeling (no init) on subjects of other sizes, built from what we have.

Real subjects differ from the test subject in vertebral height (about +-15 % between adults) and
in cord and canal width. Each case rescales the voxel size of a real image (and of its cord
segmentation) along the cord (S-I) and/or in the axial plane, which rescales the anatomy it
shows without resampling; the true discs keep their voxel positions. Cases: sct_testing_data t2
(truth: its manual discs, anatomical naming as in testing/api/labeling/test_vertebrae.py), t1
(truth: the discs found on the unscaled t1, within 1.7 mm of its manual-derived truth) and a
copy of PAM50_t2 from T1 up to C1, resampled to 1 mm (truth: PAM50_label_disc).

For each case: refused (the command asks for an init), or the largest distance along the cord
between a disc found and the true disc of the same name (a naming error shows as >= 10 mm).

    PYTHONPATH=$PWD python testing/benchmarks/label_vertebrae_anatomy.py [--quick]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from spinalcordtoolbox.image import Image, crop_image  # noqa: E402
from spinalcordtoolbox.labeling import vertebrae as V  # noqa: E402
from spinalcordtoolbox.straightening import label_arc_lengths, label_points  # noqa: E402
from spinalcordtoolbox.download import find_data  # noqa: E402

SI_SCALES = (0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2)
AXIAL_SCALES = (0.85, 0.9, 1.1, 1.15)


def scaled_copy(path: Path, out: Path, si: float, axial: float) -> Path:
    """``path`` with its voxel axes scaled: the S-I axis by ``si``, the two others by ``axial``."""
    img = nib.load(str(path))
    affine = img.affine.copy()
    for axis in range(3):
        along_si = abs(affine[2, axis]) == np.abs(affine[:3, axis]).max()
        affine[:3, axis] *= si if along_si else axial
    copy = nib.Nifti1Image(np.asanyarray(img.dataobj), affine, img.header)
    copy.set_qform(affine, 1)
    copy.set_sform(affine, 1)
    nib.save(copy, str(out))
    return out


def voxel_truth_t2(data: Path) -> dict:
    """{disc: (i, j, k) voxel of the cord centre} of t2's manual discs, anatomical naming."""
    lab = Image(str(data / "t2" / "t2_seg-manual_labeled.nii.gz")).change_orientation("RPI")
    seg = Image(str(data / "t2" / "t2_seg-manual.nii.gz")).change_orientation("RPI")
    levels = np.rint(lab.data).astype(int)
    per_slice = {z: int(np.bincount(v[v > 0]).argmax()) for z in range(levels.shape[2])
                 if (v := levels[:, :, z]).any()}
    zs = sorted(per_slice)
    disc_z = {per_slice[z1] + 1: (z1 + z2) / 2 for z1, z2 in zip(zs, zs[1:]) if per_slice[z1] != per_slice[z2]}
    disc_z[3] = 53  # the C2/C3 disc above the first level change (test_vertebrae.py)
    return {v: _centre_voxel(seg, z) for v, z in disc_z.items()}, seg


def _centre_voxel(seg_rpi: Image, z: float):
    ks = sorted({int(np.floor(z)), int(np.ceil(z))})
    pts = [np.argwhere(seg_rpi.data[:, :, k] > 0).mean(axis=0).tolist() + [k] for k in ks]
    return np.mean(pts, axis=0)


def world_truth(seg_rpi_path: Path, voxels: dict) -> dict:
    im = Image(str(seg_rpi_path)).change_orientation("RPI")
    return {v: im.transfo_pix2phys(np.array([p], float))[0] for v, p in voxels.items()}


def errors_along_cord(res, truth_world) -> dict:
    s_true = label_arc_lengths(res.curve, truth_world)
    inside = {v: s for v, s in s_true.items() if -1 <= s <= res.curve.length + 1}
    return {v: abs(res.detection.discs.get(v, np.inf) - s) for v, s in inside.items()}


def run_case(name, image, seg, contrast, template, truth_world):
    t0 = time.time()
    try:
        res = V.label_vertebrae(Image(str(image)), Image(str(seg)), contrast, template, pmj=False)
    except V.VertebraeError as e:
        return {"case": name, "result": "refused", "why": str(e)[:70], "s": time.time() - t0}
    err = errors_along_cord(res, truth_world)
    worst = max(err.values()) if err else np.inf
    return {"case": name, "result": "ok" if worst <= 3 else ("WRONG" if worst >= 6 else "off"),
            "max_err_mm": round(float(worst), 1), "margin": round(float(res.detection.auto_margin), 2),
            "scale": round(float(res.detection.scale), 2),
            "errors": {v: round(float(e), 1) for v, e in sorted(err.items())}, "s": time.time() - t0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="t2 only")
    parser.add_argument("--compression", action="store_true",
                        help="instead: t2 with its segmentation flattened (a compression) at 5 places")
    parser.add_argument("--crops", action="store_true",
                        help="instead: 55 mm crops of PAM50 (whole cord), tops every 12.5 mm down the cord")
    args = parser.parse_args()
    from spinalcordtoolbox.registration.template import load_template

    data = find_data("sct_testing_data")
    pam50 = find_data("PAM50")
    template = load_template(pam50)
    work = Path(tempfile.mkdtemp(prefix="label_anatomy_"))
    rows = []

    # t2: manual truth
    t2_vox, _ = voxel_truth_t2(data)
    # t1: the unscaled result as truth
    t1_im, t1_seg = data / "t1" / "t1w.nii.gz", data / "t1" / "t1w_seg-manual.nii.gz"
    # PAM50 T1..C1 at 1 mm
    subjects = [("t2", data / "t2" / "t2.nii.gz", data / "t2" / "t2_seg-manual.nii.gz", "t2")]
    if not args.quick:
        from spinalcordtoolbox.resampling import resample_image
        t = pam50 / "template"
        zlow = 0 if args.crops else 700  # the crop sweep runs down the whole template
        im, seg = [crop_image(Image(str(t / f)), zmin=zlow, zmax=970) for f in ("PAM50_t2.nii.gz", "PAM50_cord.nii.gz")]
        im = resample_image(im, mm=[1.0] * 3)
        seg = resample_image(seg, ref=im, interpolation="linear")
        seg.data = (seg.data > 0.5).astype(np.uint8)
        im.save(str(work / "pam50_t2.nii.gz"))
        seg.save(str(work / "pam50_cord.nii.gz"))
        subjects += [("t1", t1_im, t1_seg, "t1"),
                     ("pam50", work / "pam50_t2.nii.gz", work / "pam50_cord.nii.gz", "t2")]

    voxel_truth = {"t2": t2_vox}
    if not args.quick:
        res = V.label_vertebrae(Image(str(t1_im)), Image(str(t1_seg)), "t1", template, pmj=False)
        seg_rpi = Image(str(t1_seg)).change_orientation("RPI")
        voxel_truth["t1"] = {v: seg_rpi.transfo_phys2pix(np.array([p]))[0] for v, p in
                             zip(res.detection.discs, _points_of(res))}
        disc_img = crop_image(Image(str(pam50 / "template" / "PAM50_label_disc.nii.gz")), zmin=zlow, zmax=970)
        pts = {v: p for v, p in label_points(disc_img).items() if 3 <= v <= 30}
        seg_rpi = Image(str(work / "pam50_cord.nii.gz")).change_orientation("RPI")
        voxel_truth["pam50"] = {v: seg_rpi.transfo_phys2pix(np.array([p]))[0] for v, p in pts.items()}

    if args.crops:
        crop_sweep(work, template, voxel_truth["pam50"])
        return
    if args.compression:
        compression_sweep(data, work, template, t2_vox)
        return

    cases = [(si, 1.0) for si in SI_SCALES] + [(1.0, ax) for ax in AXIAL_SCALES] + [(1.1, 0.9), (0.9, 1.1)]
    for name, image, seg, contrast in subjects:
        for si, ax in cases:
            folder = work / f"{name}_si{si}_ax{ax}"
            folder.mkdir()
            im_c = scaled_copy(image, folder / "im.nii.gz", si, ax)
            seg_c = scaled_copy(seg, folder / "seg.nii.gz", si, ax)
            truth = world_truth(seg_c, voxel_truth[name])
            row = run_case(f"{name} S-I x{si} axial x{ax}", im_c, seg_c, contrast, template, truth)
            rows.append(row)
            print("  ".join(f"{k}={v:.1f}" if isinstance(v, float) and k == "s" else f"{k}={v}"
                            for k, v in row.items()), flush=True)
    n = len(rows)
    ok = sum(r["result"] == "ok" for r in rows)
    wrong = sum(r["result"] in ("WRONG", "off") for r in rows)
    print(f"\n{n} cases: {ok} right (every disc within 3 mm), {n - ok - wrong} refused, {wrong} wrong")


def crop_sweep(work, template, truth_vox):
    """55 mm crops of the PAM50 copy (T1 to the cord's lower end), tops every 12.5 mm from the
    cord's top: the lower ones hold no C2/C3 disc and must be refused (or labelled right), never
    labelled wrong."""
    im = Image(str(work / "pam50_t2.nii.gz")).change_orientation("RPI")
    seg = Image(str(work / "pam50_cord.nii.gz")).change_orientation("RPI")
    top = int(np.nonzero(seg.data.any(axis=(0, 1)))[0].max())
    rows = []
    for k in range(200):
        zmax = top - int(round(12.5 * k))
        zmin = zmax - 55
        if zmin < 0:
            break
        folder = work / f"crop{k}"
        folder.mkdir()
        crop_image(im, zmin=zmin, zmax=zmax).save(str(folder / "im.nii.gz"))
        crop_image(seg, zmin=zmin, zmax=zmax).save(str(folder / "seg.nii.gz"))
        shifted = {v: np.asarray(p, float) - [0, 0, zmin] for v, p in truth_vox.items()
                   if zmin - 5 <= p[2] <= zmax + 5}
        truth = world_truth(folder / "seg.nii.gz", shifted)
        row = run_case(f"pam50 crop top -{12.5 * k:.1f} mm", folder / "im.nii.gz", folder / "seg.nii.gz",
                       "t2", template, truth)
        rows.append(row)
        print("  ".join(f"{k_}={v}" for k_, v in row.items() if k_ != "s"), flush=True)
    return rows


def compressed_seg(seg: Image, z0: int, keep: float, length=6) -> Image:
    """``seg`` flattened antero-posteriorly to ``keep`` of its extent over RPI slices z0..z0+length
    (a cord compression as seen on a segmentation)."""
    rpi = seg.copy().change_orientation("RPI")
    data = rpi.data.copy()
    for z in range(z0, z0 + length):
        rows = np.nonzero(data[:, :, z].any(axis=0))[0]
        if not len(rows):
            continue
        n = int(round(len(rows) * keep))
        lo = rows[0] + (len(rows) - n) // 2
        band = np.zeros(data.shape[:2], bool)
        band[:, lo:lo + n] = True
        data[:, :, z] = np.where(band, data[:, :, z], 0)
    rpi.data = data
    return rpi.change_orientation(seg.orientation)


def compression_sweep(data, work, template, truth_vox):
    """t2 with a 6 mm compression (cord flattened to 50 % or 70 % of its A-P extent) at five
    heights: the cord-area profile has a dip the template's does not."""
    im_path = data / "t2" / "t2.nii.gz"
    seg = Image(str(data / "t2" / "t2_seg-manual.nii.gz"))
    for z0 in (8, 16, 24, 32, 40):
        for keep in (0.5, 0.7):
            folder = work / f"compression_{z0}_{keep}"
            folder.mkdir()
            compressed_seg(seg, z0, keep).save(str(folder / "seg.nii.gz"))
            truth = world_truth(folder / "seg.nii.gz", truth_vox)
            row = run_case(f"t2 compressed at z {z0}-{z0 + 5} to {keep:.0%}", im_path, folder / "seg.nii.gz",
                           "t2", template, truth)
            print("  ".join(f"{k}={v}" for k, v in row.items() if k != "s"), flush=True)


def _points_of(res):
    """World points of the discs found (centre of the cord at their arc length)."""
    return res.curve.frame_at(np.array(list(res.detection.discs.values())))[0]


if __name__ == "__main__":
    main()
