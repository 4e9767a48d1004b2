"""The course's command lines (docs: /shared/docs/course_commands.md), in the course's order, on
sct_testing_data laid out as the course's single subject (issue 13's acceptance test).

Each line runs as written (``shlex`` words, ``main(argv)`` in-process, in its folder); only file
names are adapted, and where noted a number that does not fit the smaller test images (point
coordinates, a slice range, a PMJ distance). Lines whose model needs a download are replaced by
the offline equivalent writing the same file (said per line). Every line's output is checked with
numbers against the manual segmentations/labels of sct_testing_data or against a direct
computation. A line is skipped only when its command module does not exist yet; when a line is
skipped or fails, its outputs are provided from manual data (when there is any) so that later
lines still test their own command.
"""
from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from helpers.course import Course, command_exists, disc_labels_from_levels, last_line, load, shell_words
from spinalcordtoolbox.metrics.similarity import dice

PAM50 = "${SCT_DIR}/data/PAM50"


@dataclass
class Line:
    folder: str
    line: str                       # the course line, file names adapted
    check: Callable | None = None   # check(course, result)
    sub: list | None = None         # offline substitute: command lines and/or callables(course)
    expect: str = "ok"              # ok: exit 0; usage: exit 2 with a usage error; any: check decides
    fallback: dict = field(default_factory=dict)  # output -> callable(course, path) if skipped/failed
    needs: tuple = ()               # commands whose output it reads and that have no fallback
    offline: bool = False           # run with name resolution failing (a download must not be tried)
    note: str = ""
    known_issue: str = ""           # an open issue makes this line's check fail: reported as xfail


@dataclass
class Result:
    code: int
    out: str
    err: str
    argv: list = field(default_factory=list)


# ----------------------------------------------------------------------------- helpers of checks
def _img(c, rel):
    return load(c.path(rel)).astype(float)


def _csv(c, rel):
    import pandas as pd
    return pd.read_csv(c.path(rel))


def _seg_dice(rel, manual, minimum):
    def check(c, r):
        d = dice(_img(c, rel), load(c.ref(manual)))
        assert d >= minimum, f"{rel}: Dice {d:.3f} with {manual} < {minimum}"
    return check


def _covered_dice(moved, ref, what):
    """Dice on the axial slices the warped template reaches: where the destination extends beyond
    the anatomical image the warp chain started from (mt and fmri slabs are taller than the t2
    that the -initwarp was made on), the template has nothing to map. At least half of the
    segmented slices must be reached."""
    moved, ref = np.asarray(moved) > 0.5, np.asarray(ref) > 0.5
    reached = moved.any(axis=(0, 1))
    segmented = ref.any(axis=(0, 1))
    assert (reached & segmented).sum() >= 0.5 * segmented.sum(), \
        f"{what}: the template reaches {int((reached & segmented).sum())} of {int(segmented.sum())} segmented slices"
    return dice(moved[:, :, reached], ref[:, :, reached])


def _chain_slices(c, seg, chain, seg_is_ref=False):
    """(covered, uncovered): the slices (axis 2) holding ``seg`` whose voxels all lie within the
    grid of every field of a warp chain (``chain``: the warp files, the one on the destination
    first), and the others. From the headers alone: outside its grid a field gives no
    displacement (ITK), so nothing maps the template there. The small in-plane steps between
    the fields are left out (the slices here are >= 2 mm from a grid's edge)."""
    import nibabel as nib
    img = nib.load(str(c.ref(seg) if seg_is_ref else c.path(seg)))
    holds = np.asanyarray(img.dataobj) > 0.5
    ijk = np.argwhere(holds)
    world = ijk @ img.affine[:3, :3].T + img.affine[:3, 3]
    inside = np.ones(len(ijk), bool)
    for rel in chain:
        grid = nib.load(str(c.path(rel)))
        vox = (world - grid.affine[:3, 3]) @ np.linalg.inv(grid.affine[:3, :3]).T
        inside &= np.all((vox >= -0.5) & (vox <= np.array(grid.shape[:3]) - 0.5), axis=1)
    zs = np.unique(ijk[:, 2])
    covered = [int(z) for z in zs if inside[ijk[:, 2] == z].all()]
    return covered, [int(z) for z in zs if z not in covered]


def _chain_dice(c, moved, ref, chain, seg, what, seg_is_ref=False):
    """Dice on the slices the warp chain covers; the others must not be claimed (no template
    voxel there: the template would be at a guessed level)."""
    moved, ref = np.asarray(moved) > 0.5, np.asarray(ref) > 0.5
    covered, uncovered = _chain_slices(c, seg, chain, seg_is_ref)
    assert covered, f"{what}: the warp chain covers none of the slices of {seg}"
    claimed = [z for z in uncovered if moved[:, :, z].any()]
    assert not claimed, f"{what}: template on slices {claimed}, outside the fields of {chain}"
    return dice(moved[:, :, covered], ref[:, :, covered])


def _warned_slices(text):
    """The destination slices named by the registration's coverage warning (empty: no warning)."""
    import re
    m = re.search(r"WARNING: \S+ (.*?): \d+ of the \d+ slices holding the destination segmentation", text)
    found = set()
    for group in re.findall(r"slices? ([\d, -]+) \(z\)", m.group(1) if m else ""):
        for part in group.split(","):
            a, _, b = part.strip().partition("-")
            found.update(range(int(a), int(b or a) + 1))
    return sorted(found)


def _warns_uncovered(dseg, chain):
    """The registration names, in one warning line, exactly the -dseg slices the chain leaves out."""
    def check(c, r):
        _, uncovered = _chain_slices(c, dseg, chain)
        assert _warned_slices(r.out) == uncovered, \
            f"warning names {_warned_slices(r.out)}, expected {uncovered}: {r.out[-600:]}"
    return check


def _warped_cord_dice(warp_rel, dest_rel, seg, minimum, seg_is_ref=False, chain=None, label="PAM50_cord"):
    """Dice between a template file (PAM50_cord) pulled through the warp onto dest and a
    segmentation; with ``chain`` (the warp files the chain is made of), on the slices it
    covers (:func:`_chain_dice`)."""
    def check(c, r):
        from spinalcordtoolbox.image import Image
        from spinalcordtoolbox.registration.warp import apply_transforms
        tpl = Image(str(c.root / f"sct/data/PAM50/template/{label}.nii.gz"))
        moved = apply_transforms(tpl, Image(str(c.path(dest_rel))), [str(c.path(warp_rel))])
        ref = load(c.ref(seg)) if seg_is_ref else _img(c, seg)
        d = (_chain_dice(c, moved.data, ref, chain, seg, warp_rel, seg_is_ref) if chain
             else _covered_dice(moved.data, ref, warp_rel))
        assert d >= minimum, f"{label} through {warp_rel}: Dice {d:.3f} with {seg} < {minimum}"
    return check


def _warp_template_ok(folder, dest, warp, seg, minimum, seg_is_ref=False, chain=None, wm=None):
    """sct_warp_template: its PAM50_cord equals the template cord pulled through the same warp
    (Dice >= 0.95), and lies on the cord (Dice >= minimum with a segmentation; this also depends
    on the warp given, which the registration lines check). ``chain``: Dice on the slices the
    warp chain covers, none claimed elsewhere; ``wm`` (segmentation, minimum): the same for
    PAM50_wm."""
    def check(c, r):
        from spinalcordtoolbox.image import Image
        from spinalcordtoolbox.registration.warp import apply_transforms
        cord = Image(str(c.root / "sct/data/PAM50/template/PAM50_cord.nii.gz"))
        direct = apply_transforms(cord, Image(str(c.path(f"{folder}/{dest}"))), [str(c.path(f"{folder}/{warp}"))])
        out = _img(c, f"{folder}/label/template/PAM50_cord.nii.gz")
        d = dice(out, np.asarray(direct.data))
        assert d >= 0.95, f"warped template cord differs from the direct warp (Dice {d:.3f})"
        ref = load(c.ref(seg)) if seg_is_ref else _img(c, seg)
        rel = f"{folder}/label/template/PAM50_cord.nii.gz"
        d = _chain_dice(c, out, ref, chain, seg, rel, seg_is_ref) if chain else _covered_dice(out, ref, rel)
        assert d >= minimum, f"warped template cord: Dice {d:.3f} with {seg} < {minimum}"
        if wm:
            rel = f"{folder}/label/template/PAM50_wm.nii.gz"
            d = _chain_dice(c, _img(c, rel), _img(c, wm[0]), chain, wm[0], rel)
            assert d >= wm[1], f"warped template white matter: Dice {d:.3f} with {wm[0]} < {wm[1]}"
    return check


def _all(*checks):
    def check(c, r):
        for ch in checks:
            ch(c, r)
    return check


def _exists(*rels):
    def check(c, r):
        missing = [p for p in rels if not c.path(p).exists()]
        assert not missing, f"missing outputs: {missing}"
    return check


def _copy_ref(ref):
    return lambda c, dest: shutil.copyfile(c.ref(ref), dest)


def _voxel_area(c, rel):
    import nibabel as nib
    return float(np.prod(nib.load(str(c.path(rel))).header.get_zooms()[:2]))


def _t2_slice_areas(c, seg_rel):
    """Voxel-count area per axial slice (t2 is P,S,R with 1 mm voxels: slices along axis 1)."""
    return (_img(c, seg_rel) > 0.5).sum(axis=(0, 2)).astype(float)


def _qc_entry(process):
    """A new QC entry for ``process`` since the previous check of this kind."""
    def check(c, r):
        hits = {p for p in c.qc.rglob("*") if process in str(p.relative_to(c.qc))}
        seen = c.qc_seen.setdefault(process, set())
        assert hits - seen, f"no new QC entry for {process} in {c.qc}"
        seen |= hits
    return check


def _usage_names_flag(flag):
    """A line naming a flag without its argument/inputs: a usage error, and the flag exists (argparse
    reports missing required arguments before unknown ones, so the parser is asked directly)."""
    def check(c, r):
        import importlib
        name = r.argv[0]
        parser = importlib.import_module(f"spinalcordtoolbox.scripts.{name}").get_parser()
        assert flag in parser._option_string_actions, f"{name} has no option {flag}"
        assert "unrecognized arguments" not in r.err and "invalid choice" not in r.err, last_line(r.err)
    return check


def _download_offline(name, folder):
    def check(c, r):
        if r.code == 0:
            assert any(c.path(folder).iterdir()), f"{folder} is empty"
            return
        msg = last_line(r.err)
        assert r.code == 1 and "Traceback" not in r.err, r.err[-500:]
        assert name in msg and "Unknown" not in msg, f"offline download of {name}: {msg}"
        assert not c.path(folder).exists(), "a failed download left a folder behind"
    return check


# ----------------------------------------------------------------------------- substitutes
def _disc_labels(c, dest="t2/t2_step1_levels.nii.gz"):
    disc_labels_from_levels(c.ref("t2/t2_seg-manual_labeled.nii.gz"), c.path(dest))


def _synthetic_lesion(c):
    """No lesion in sct_testing_data's t2 (the fake-lesion image lies elsewhere in space): an
    ellipsoid of semi-axes 2.5 x 4 x 2.5 mm inside the cord at slice 27 stands in."""
    import nibabel as nib
    seg_img = nib.load(str(c.path("t2/t2_seg.nii.gz")))
    seg = np.asanyarray(seg_img.dataobj) > 0.5
    xs, zs = np.nonzero(seg[:, 27, :])
    cx, cz = xs.mean(), zs.mean()
    gx, gy, gz = np.mgrid[:seg.shape[0], :seg.shape[1], :seg.shape[2]]
    blob = ((gx - cx) / 2.5) ** 2 + ((gy - 27) / 4) ** 2 + ((gz - cz) / 2.5) ** 2 <= 1
    blob &= seg
    nib.save(nib.Nifti1Image(blob.astype(np.uint8), seg_img.affine), str(c.path("t2/t2_lesion_seg.nii.gz")))
    shutil.copyfile(c.path("t2/t2_seg.nii.gz"), c.path("t2/t2_sc_seg.nii.gz"))


def _rename(src, dest):
    return lambda c: shutil.move(c.path(src), c.path(dest))


def _copy(src, dest):
    return lambda c: shutil.copyfile(c.path(src), c.path(dest))


def _pmj_at_top(c, dest):
    """PMJ stand-in (no PMJ in the t2 field of view): label 50 at the cord centre of the top slice."""
    import nibabel as nib
    img = nib.load(str(c.path("t2/t2_seg.nii.gz")))
    seg = np.asanyarray(img.dataobj) > 0.5
    y = np.nonzero(seg.any(axis=(0, 2)))[0].max()
    xs, zs = np.nonzero(seg[:, y, :])
    lab = np.zeros(seg.shape, np.uint8)
    lab[int(round(xs.mean())), y, int(round(zs.mean()))] = 50
    nib.save(nib.Nifti1Image(lab, img.affine), str(dest))


def _template_to_mt(c, dest):
    """Fallback warp template -> mt1: this course's template -> t2 warp followed by sct_testing_data's
    t2 -> mt1 warp (the concatenation its mt/README describes)."""
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.registration.warp import compose_warps, natural_to_ants, write_warp
    ref = Image(str(c.path("mt/mt1.nii.gz")))
    chain, inverse = natural_to_ants([str(c.path("t2/warp_template2anat.nii.gz")), str(c.ref("mt/warp_t22mt1.nii.gz"))])
    write_warp(compose_warps(chain, ref, inverse=inverse), ref, dest)


def _make_labels(points):
    def make(c, dest):
        import nibabel as nib
        img = nib.load(str(c.path("t2/t2.nii.gz")))
        lab = np.zeros(img.shape, np.uint8)
        for x, y, z, v in points:
            lab[x, y, z] = v
        nib.save(nib.Nifti1Image(lab, img.affine), str(dest))
    return make


# ----------------------------------------------------------------------------- checks per line
def _check_deepseg_help(c, r):
    for word in ("usage:", "spinalcord", "graymatter", "totalspineseg", "lesion_ms"):
        assert word in r.out, f"'{word}' missing from sct_deepseg -h"


def _check_disc_file(c, r):
    lab = _img(c, "t2/t2_step1_levels.nii.gz")
    vals = sorted(np.unique(lab[lab > 0]).astype(int))
    assert vals == [3, 4, 5] and (lab > 0).sum() == 3


def _check_viewer(c, r):
    if r.code == 0:
        lab = _img(c, "t2/labels_disc.nii.gz")
        assert set(np.unique(lab[lab > 0]).astype(int)) == {3, 4, 5}
    else:
        assert "unrecognized arguments" not in r.err, last_line(r.err)
        assert r.code == 1 and "Traceback" not in r.err, r.err[-500:]
        assert not c.path("t2/labels_disc.nii.gz").exists()


def _levels_slices(c, levels):
    """Slices (axis S of t2) of the given vertebral levels in the manual labeled segmentation."""
    lab = load(c.ref("t2/t2_seg-manual_labeled.nii.gz")).round()
    return sorted({y for v in levels for y in np.nonzero((lab == v).any(axis=(0, 2)))[0]})


def _check_csa_c3c4(c, r):
    df = _csv(c, "t2/csa_c3c4.csv")
    assert len(df) == 1 and str(df["VertLevel"][0]) == "3:4"
    expected = _t2_slice_areas(c, "t2/t2_seg.nii.gz")[_levels_slices(c, [3, 4])].mean()
    assert df["MEAN(area)"][0] == pytest.approx(expected, rel=0.1)


def _check_csa_perlevel(c, r):
    df = _csv(c, "t2/csa_perlevel.csv")
    assert sorted(df["VertLevel"].astype(int)) == [3, 4]
    areas = _t2_slice_areas(c, "t2/t2_seg.nii.gz")
    for level, area in zip(df["VertLevel"].astype(int), df["MEAN(area)"]):
        assert area == pytest.approx(areas[_levels_slices(c, [level])].mean(), rel=0.1)


def _check_csa_perslice(c, r):
    df = _csv(c, "t2/csa_perslice.csv")
    assert list(df["Slice (I->S)"].astype(int)) == list(range(30, 36))
    areas = _t2_slice_areas(c, "t2/t2_seg.nii.gz")
    assert np.allclose(df["MEAN(area)"], areas[30:36], rtol=0.1)
    assert set(df["VertLevel"].astype(int)) == {3}


def _one_line_error_or(check, words):
    """The line either succeeds and passes ``check``, or stops with exit 1 and one clear line
    containing ``words`` (a documented refusal on this data), writing no output."""
    def either(c, r):
        if r.code == 0:
            return check(c, r)
        lines = r.err.strip().splitlines()
        assert r.code == 1 and lines and lines[-1].startswith("ERROR:") and words in lines[-1], \
            f"exit {r.code}: {last_line(r.err)}"
    return either


def _check_pmj(c, r):
    lab = _img(c, "t2/t2_pmj.nii.gz")
    assert (lab > 0).sum() == 1 and lab.max() == 50
    y = np.nonzero(lab)[1][0]
    assert y > 35, "PMJ below the C2-C3 disc"


def _check_csa_pmj(c, r):
    df = _csv(c, "t2/csa_pmj.csv")
    assert len(df) == 1 and float(df["DistancePMJ"][0]) == 30
    areas = _t2_slice_areas(c, "t2/t2_seg.nii.gz")
    assert df["MEAN(area)"][0] == pytest.approx(areas[areas > 0].mean(), rel=0.15)


def _check_csa_pam50(c, r):
    df = _csv(c, "t2/csa_PAM50.csv")
    pam_levels = load(c.root / "sct/data/PAM50/template/PAM50_levels.nii.gz").round()
    per_z = [set(np.unique(pam_levels[:, :, z])) - {0} for z in range(pam_levels.shape[2])]
    covered = {2, 3, 4, 5}
    n_slices = sum(1 for s in per_z if s & covered)
    assert len(df) <= n_slices + 2, f"{len(df)} rows; the levels covered span {n_slices} PAM50 slices"
    values = df["MEAN(area)"].dropna()
    assert len(values) >= 0.5 * n_slices
    areas = _t2_slice_areas(c, "t2/t2_seg.nii.gz")
    assert values.median() == pytest.approx(np.median(areas[areas > 0]), rel=0.2)


#: t2's discs (RPI z = second voxel axis of t2, AIL) with the anatomical naming settled in
#: testing/api/labeling/test_vertebrae.py: t2_seg-manual_labeled.nii.gz names every level one higher
T2_DISCS = {3: 53, 4: 35.5, 5: 17.5, 6: 3.5}


def _check_labeled(c, r):
    discs = _img(c, "t2_compressed/t2_compressed_seg_labeled_discs.nii.gz").round()
    found = {int(discs[p]): int(p[1]) for p in zip(*np.nonzero(discs))}
    assert set(found) == set(T2_DISCS), f"discs found: {found}"
    errors = {v: abs(found[v] - z) for v, z in T2_DISCS.items()}
    assert max(errors.values()) <= 3, f"disc errors (slices of 1 mm): {errors}"
    lab = _img(c, "t2_compressed/t2_compressed_seg_labeled.nii.gz").round()
    manual = load(c.ref("t2/t2_seg-manual_labeled.nii.gz")).round()
    both = (lab > 0) & (manual > 0)
    agree = (lab[both] == manual[both] + 1).mean()
    assert agree >= 0.95, f"vertebral levels agree with the manual ones on {agree:.0%} of the cord"


def _manual_levels_anatomical(c, dest):
    manual = load(c.ref("t2/t2_seg-manual_labeled.nii.gz")).round()
    _save_like(c, "t2_compressed/t2_compressed.nii.gz", dest,
               np.where(manual > 0, manual + 1, 0).astype(np.uint8))


COMPRESSION_POINTS = [(30, 20, 25, 1), (30, 24, 25, 1), (30, 27, 25, 1), (30, 31, 25, 1)]


def _check_compression_labels(c, r):
    lab = _img(c, "t2_compressed/t2_compressed_labels-compression.nii.gz")
    pts = sorted((int(x), int(y), int(z), int(lab[x, y, z])) for x, y, z in zip(*np.nonzero(lab)))
    assert pts == sorted(COMPRESSION_POINTS)


def _check_compression(name):
    def check(c, r):
        df = _csv(c, f"t2_compressed/{name}")
        assert len(df) == len(COMPRESSION_POINTS)
        col = [k for k in df.columns if "ratio" in k.lower()]
        assert col, f"no ratio column in {list(df.columns)}"
        ratios = df[col[0]].astype(float)
        # a healthy cord: no compression beyond the slice-to-slice variation of its AP diameter
        assert ratios.abs().max() < 20, f"compression ratios of a healthy cord: {list(ratios)}"
        # each compression is named by the -vertfile level at its slice (t2: axis 1 is I->S)
        levels = _img(c, "t2_compressed/t2_compressed_seg_labeled.nii.gz").round()
        expected = {y: int(levels[:, y, :].max()) for _, y, _, _ in COMPRESSION_POINTS}
        got = dict(zip(df["Slice (I->S)"].astype(int), df["compression_level"].astype(int)))
        assert got == expected, f"compression levels {got}, -vertfile levels {expected}"
    return check


def _check_keep(c, r):
    lab = _img(c, "t2/t2_labels_vert.nii.gz")
    src = _img(c, "t2/t2_step1_levels.nii.gz")
    assert sorted(np.unique(lab[lab > 0]).astype(int)) == [3]  # no disc 9 in the t2 field of view
    assert np.array_equal(np.argwhere(lab == 3), np.argwhere(src == 3))


def _check_levels_agree(rel, minimum):
    def check(c, r):
        lev = _img(c, rel).round()
        manual = load(c.ref("t2/t2_seg-manual_labeled.nii.gz")).round()
        both = (lev > 0) & (manual > 0)
        agree = (lev[both] == manual[both]).mean()
        assert agree >= minimum, f"{rel}: levels agree with the manual ones on {agree:.0%}"
    return check


def _fsl_coords(vox, img):
    """FSL's coordinates of voxel indices: index x voxel size, x mirrored when det(affine) > 0."""
    zooms = np.asarray(img.header.get_zooms()[:3], float)
    vox = np.array(vox, float)
    if np.linalg.det(img.affine[:3, :3]) > 0:
        vox[..., 0] = img.shape[0] - 1 - vox[..., 0]
    return vox * zooms


def _check_to_fsl(c, r):
    """The FSL relative warp, applied as FSL does (source FSL coords = destination FSL coords +
    warp), carries the template cord onto the t2 cord."""
    import nibabel as nib
    from scipy.ndimage import map_coordinates
    dest = nib.load(str(c.path("t2/t2.nii.gz")))
    src = nib.load(str(c.root / "sct/data/PAM50/template/PAM50_t2.nii.gz"))
    warp = load(c.path("t2/warp_template2anat_fsl.nii.gz")).astype(float).reshape(dest.shape + (3,))
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in dest.shape], indexing="ij"), -1)
    src_fsl = _fsl_coords(grid, dest) + warp
    src_vox = src_fsl / np.asarray(src.header.get_zooms()[:3], float)
    if np.linalg.det(src.affine[:3, :3]) > 0:
        src_vox[..., 0] = src.shape[0] - 1 - src_vox[..., 0]
    cord = load(c.root / "sct/data/PAM50/template/PAM50_cord.nii.gz").astype(np.float32)
    moved = map_coordinates(cord, np.moveaxis(src_vox, -1, 0), order=1)
    d = dice(moved, load(c.ref("t2/t2_seg-manual.nii.gz")))
    assert d >= 0.85, f"template cord through the FSL warp: Dice {d:.3f}"


def _check_roundtrip(c, r):
    disp = _img(c, "t2/warp_final.nii.gz").squeeze()
    seg = load(c.ref("t2/t2_seg-manual.nii.gz")) > 0
    err = np.linalg.norm(disp[seg], axis=-1)
    assert np.median(err) < 1.0, f"anat->template->anat moves the cord by {np.median(err):.2f} mm"


def _check_mask(img_rel, seg_rel, diameter_mm):
    def check(c, r):
        mask = _img(c, img_rel)
        assert set(np.unique(mask)) <= {0.0, 1.0}
        seg = _img(c, seg_rel) > 0.5
        assert mask[seg].mean() > 0.99, "the cord is not inside the mask"
        per_slice = mask.reshape(-1, mask.shape[-1]).sum(0)
        circle = np.pi * (diameter_mm / 2) ** 2 / _voxel_area(c, img_rel)
        assert per_slice.max() <= 1.1 * circle
    return check


def _check_seg_mid(c, r):
    lab = _img(c, "mt/label_c3c4.nii.gz")
    seg = _img(c, "mt/mt1_seg.nii.gz") > 0.5
    (x, y, z), = np.argwhere(lab > 0)
    zs = np.nonzero(seg.any(axis=(0, 1)))[0]
    assert lab[x, y, z] == 4 and seg[x, y, z] and abs(z - (zs.min() + zs.max()) / 2) <= 0.5


def _check_slicereg(c, r):
    moved = _img(c, "mt/mt0_reg.nii.gz")
    gold = load(c.ref("mt/mt0_reg_slicereg_goldstandard.nii.gz")).astype(float)
    mask = _img(c, "mt/mask_mt1.nii.gz") > 0
    for z in range(moved.shape[2]):
        m = mask[:, :, z]
        rho = np.corrcoef(moved[:, :, z][m], gold[:, :, z][m])[0, 1]
        assert rho > 0.9, f"slice {z}: correlation {rho:.3f} with the gold-standard slicereg"


def _check_mtr(c, r):
    mtr = _img(c, "mt/mtr.nii.gz")
    mt0, mt1 = _img(c, "mt/mt0_reg.nii.gz"), _img(c, "mt/mt1.nii.gz")
    seg = _img(c, "mt/mt1_seg.nii.gz") > 0.5
    ok = seg & (mt0 > 0)
    assert np.allclose(mtr[ok], np.clip(100 * (mt0[ok] - mt1[ok]) / mt0[ok], -100, 100), atol=1e-3)
    assert 25 < mtr[seg].mean() < 65


def _check_wm_maths(c, r):
    wm = load(c.path("t2s/t2s_wmseg.nii.gz"))
    seg, gm = _img(c, "t2s/t2s_seg.nii.gz"), _img(c, "t2s/t2s_gmseg.nii.gz")
    assert wm.max() <= 1 and wm.min() >= 0, f"values {wm.min()}..{wm.max()} (wrapped?)"
    assert np.allclose(wm, np.clip(seg - gm, 0, None))


def _check_csa_exact(csv_rel, seg_rel):
    """-angle-corr 0 on a binary mask: area = voxel count x in-plane voxel area, per slice."""
    def check(c, r):
        df = _csv(c, csv_rel)
        seg = _img(c, seg_rel) > 0.5
        counts = seg.sum(axis=(0, 1)) * _voxel_area(c, seg_rel)
        rows = df.dropna(subset=["MEAN(area)"])
        assert len(rows) == (counts > 0).sum()
        for z, area in zip(rows["Slice (I->S)"].astype(int), rows["MEAN(area)"]):
            assert area == pytest.approx(counts[z], rel=0.02)
    return check


def _check_extract_bin(row, mask_rel):
    def check(c, r):
        df = _csv(c, "t2s/t2s_value.csv")
        assert len(df) == row + 1
        img, mask = _img(c, "t2s/t2s.nii.gz"), _img(c, mask_rel) > 0.5
        mask[:, :, :2] = False
        assert df["BIN()"][row] == pytest.approx(img[mask].mean(), rel=1e-3)
        if row == 1:
            assert df["BIN()"][1] > df["BIN()"][0], "GM not brighter than WM on T2*"
    return check


def _check_atlas_map(csv_rel, rows, lo=20, hi=70, with_values=None):
    """``rows`` rows; MAP values in [lo, hi] (``with_values``: a warped template file; the rows with
    a value are exactly the slices it reaches, the others have empty fields)."""
    def check(c, r):
        df = _csv(c, csv_rel)
        assert len(df) == rows
        values = df["MAP()"].dropna()
        if with_values is None:
            assert len(values) == rows, list(df["MAP()"])
        else:  # the slices where this warped template file has weight
            reached = np.flatnonzero(_img(c, with_values).sum(axis=(0, 1)) > 0)
            slices = sorted(df.loc[values.index, "Slice (I->S)"].astype(int))
            assert slices == reached.tolist(), (list(df["MAP()"]), reached)
        assert values.between(lo, hi).all(), list(df["MAP()"])
    return check


def _check_dwi_mean(c, r):
    dmri = _img(c, "dmri/dmri.nii.gz")
    bvecs = np.loadtxt(c.path("dmri/bvecs.txt"))
    bvecs = bvecs if bvecs.shape[0] == 3 else bvecs.T
    dwi = np.linalg.norm(bvecs, axis=0) > 0
    assert np.allclose(_img(c, "dmri/dmri_dwi_mean.nii.gz"), dmri[..., dwi].mean(-1), atol=1e-3)


def _check_on_centerline(seg_rel, ctl_ref, max_mm=2.5):
    def check(c, r):
        seg = _img(c, seg_rel) > 0.5
        ctl = load(c.ref(ctl_ref)) > 0
        vox = np.sqrt(_voxel_area(c, seg_rel))
        for z in range(seg.shape[2]):
            if seg[:, :, z].any() and ctl[:, :, z].any():
                d = np.linalg.norm(np.argwhere(seg[:, :, z]).mean(0) - np.argwhere(ctl[:, :, z]).mean(0))
                assert d * vox < max_mm, f"slice {z}: cord centre {d * vox:.1f} mm from the centerline"
    return check


def _check_moco(series_rel, raw_rel, mask_rel):
    def check(c, r):
        moco, raw = _img(c, series_rel), _img(c, raw_rel)
        assert moco.shape == raw.shape
        mask = _img(c, mask_rel) > 0
        assert moco[mask].std(-1).mean() <= 1.05 * raw[mask].std(-1).mean()
    return check


def _check_fa(c, r):
    fa = _img(c, "dmri/dti_FA.nii.gz")
    seg = _img(c, "dmri/dmri_moco_dwi_mean_seg.nii.gz") > 0.5
    assert 0 <= fa.min() and fa.max() <= 1
    assert 0.4 < fa[seg].mean() < 0.95


def _check_fmri_mean(c, r):
    assert np.allclose(_img(c, "fmri/fmri_mean.nii.gz"), _img(c, "fmri/fmri.nii.gz").mean(-1), atol=1e-2)


def _check_identity(c, r):
    import nibabel as nib
    from nibabel.processing import resample_from_to
    ref = resample_from_to(nib.load(str(c.path("t2/t2_seg.nii.gz"))), nib.load(str(c.path("fmri/fmri_mean.nii.gz"))),
                           order=1)
    d = dice(_img(c, "fmri/t2_seg_reg.nii.gz"), ref.get_fdata())
    assert d > 0.9, f"identity registration: Dice {d:.3f} with a direct resampling"


def _check_epi_seg(c, r):
    """fMRI cord: on the slices that t2 covers, centred on the t2 cord brought by -identity 1
    (within 3 mm); on every slice an area of a cord (30-150 mm2)."""
    seg = _img(c, "fmri/fmri_moco_mean_seg.nii.gz") > 0.5
    ref = _img(c, "fmri/t2_seg_reg.nii.gz") > 0.5
    vox = np.sqrt(_voxel_area(c, "fmri/fmri_moco_mean.nii.gz"))
    both = [z for z in range(seg.shape[2]) if seg[:, :, z].any() and ref[:, :, z].any()]
    assert both, "no slice with both segmentations"
    for z in both:
        d = np.linalg.norm(np.argwhere(seg[:, :, z]).mean(0) - np.argwhere(ref[:, :, z]).mean(0)) * vox
        assert d < 3, f"slice {z}: {d:.1f} mm from the t2 cord"
    areas = seg.sum(axis=(0, 1))[seg.any(axis=(0, 1))] * vox ** 2
    assert ((areas > 30) & (areas < 150)).all(), f"areas {areas.round()}"


def _check_tsnr(out_rel, series_rel):
    def check(c, r):
        tsnr, series = _img(c, out_rel), _img(c, series_rel)
        mask = _img(c, "fmri/mask_fmri.nii.gz") > 0
        mean, std = series.mean(-1), series.std(-1, ddof=1)
        ok = mask & (std > 0)
        assert np.allclose(tsnr[ok], mean[ok] / std[ok], rtol=0.02)
    return check


def _check_tsnr_gain(c, r):
    mask = _img(c, "fmri/fmri_moco_mean_seg.nii.gz") > 0.5
    raw, moco = _img(c, "fmri/fmri_tsnr.nii.gz"), _img(c, "fmri/fmri_moco_tsnr.nii.gz")
    assert np.median(moco[mask]) >= 0.95 * np.median(raw[mask])


def _check_smooth(c, r):
    t1, sm = _img(c, "t1/t1.nii.gz"), _img(c, "t1/t1_smooth.nii.gz")
    seg = _img(c, "t1/t1_seg.nii.gz") > 0.5
    assert sm.shape == t1.shape
    assert sm[seg].mean() == pytest.approx(t1[seg].mean(), rel=0.05)
    rough = lambda a: np.abs(np.diff(a, 2, axis=2))[seg[:, :, 1:-1]].mean()  # noqa: E731 (along S)
    assert rough(sm) < 0.8 * rough(t1), "no smoothing along the cord"


def _check_flatten(c, r):
    t1, flat = _img(c, "t1/t1.nii.gz"), _img(c, "t1/t1_flatten.nii.gz")
    assert flat.shape == t1.shape
    assert np.allclose(flat.sum(axis=(0, 1)), t1.sum(axis=(0, 1)), rtol=0.1)


def _check_batch(folder):
    def check(c, r):
        files = sorted(c.path(f"batch/{folder}/results").glob("csa_*.csv"))
        assert len(files) == 2, f"results: {files}"
        areas = [float(_csv(c, f)["MEAN(area)"][0]) for f in files]
        slices = _t2_slice_areas(c, "t2/t2_seg.nii.gz")
        for a in areas:
            assert a == pytest.approx(slices[slices > 0].mean(), rel=0.15)
    return check


def _check_lesion(with_tracts):
    def check(c, r):
        import openpyxl
        wb = openpyxl.load_workbook(c.path("t2/t2_lesion_seg_analysis.xlsx"))
        rows = list(wb["measures"].values)
        head, vals = rows[0], rows[1:]
        assert len(vals) == 1, f"{len(vals)} lesions"
        vol = [k for k in head if "volume" in str(k).lower()][0]
        expected = (_img(c, "t2/t2_lesion_seg.nii.gz") > 0).sum()  # 1-mm voxels
        assert vals[0][head.index(vol)] == pytest.approx(expected, rel=0.01)
        if with_tracts:
            assert "tracts" in wb.sheetnames
    return check


def _check_ascor(c, r):
    df = _csv(c, "t2/ascor.csv")
    assert len(df) >= 2
    col = [k for k in df.columns if "ascor" in k.lower() or "ratio" in k.lower()][0]
    assert df[col].between(0.2, 0.95).all(), list(df[col])


def _check_canal(c, r):
    canal, cord = _img(c, "t2/t2_canal_seg.nii.gz") > 0.5, _img(c, "t2/t2_seg.nii.gz") > 0.5
    assert canal[cord].all() and canal.sum() > 1.5 * cord.sum()


def _check_stitch(c, r):
    t2, st = _img(c, "t2/t2.nii.gz"), _img(c, "t2/t2_stitched.nii.gz")
    assert st.shape == t2.shape
    seg = _img(c, "t2/t2_seg.nii.gz") > 0.5
    assert np.abs(st[seg] - t2[seg]).mean() / t2[seg].mean() < 0.05


def _stitch_chunks(c):
    """Two overlapping chunks of t2 (S slices 0-34 and 20-54), the second with a gain of 1.3."""
    import nibabel as nib
    img = nib.load(str(c.path("t2/t2.nii.gz")))
    data = np.asanyarray(img.dataobj).astype(np.float32)
    for name, lo, hi, gain in (("t2_chunk1", 0, 35, 1.0), ("t2_chunk2", 20, 55, 1.3)):
        aff = img.affine.copy()
        aff[:3, 3] += aff[:3, 1] * lo
        nib.save(nib.Nifti1Image(data[:, lo:hi] * gain, aff), str(c.path(f"t2/{name}.nii.gz")))


def _write_batch(c):
    """A two-subject BIDS-like dataset, process_data.sh (CSA of each subject's segmentation) and
    config.yml, as in the course's batch section."""
    root = c.path("batch")
    for sub in ("sub-01", "sub-02"):
        anat = root / "data" / sub / "anat"
        anat.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(c.path("t2/t2_seg.nii.gz"), anat / f"{sub}_T2w_seg.nii.gz")
    (root / "process_data.sh").write_text(
        "#!/bin/bash\nset -e -x\nSUBJECT=$1\n"
        "sct_process_segmentation -i \"$PATH_DATA/$SUBJECT/anat/${SUBJECT}_T2w_seg.nii.gz\" "
        "-o \"$PATH_RESULTS/csa_${SUBJECT}.csv\"\n")
    (root / "process_data.sh").chmod(0o755)
    (root / "config.yml").write_text("path_data: data\npath_output: output\n")


# ----------------------------------------------------------------------------- the course
TPL_CORD = f"{PAM50}/template/PAM50_cord.nii.gz"

# Course lines registering a template contrast; {tpl} is PAM50_t2s / PAM50_t1 as written (not
# installed offline: a clear error is expected) and PAM50_t2 in the run that follows.
REG_T2S = ('sct_register_multimodal -i "${{SCT_DIR}}"/data/PAM50/template/{tpl}.nii.gz -iseg '
           '"${{SCT_DIR}}"/data/PAM50/template/PAM50_wm.nii.gz -d t2s.nii.gz -dseg t2s_wmseg.nii.gz -initwarp '
           "../t2/warp_template2anat.nii.gz -initwarpinv ../t2/warp_anat2template.nii.gz -owarp "
           "warp_template2t2s.nii.gz -owarpinv warp_t2s2template.nii.gz -param step=1,type=seg,algo=rigid:"
           "step=2,type=seg,metric=CC,algo=bsplinesyn,slicewise=1,iter=3:step=3,type=im,metric=CC,algo=syn,"
           "slicewise=1,iter=2 -qc ~/qc_singleSubj")
REG_DMRI = ('sct_register_multimodal -i "${{SCT_DIR}}"/data/PAM50/template/{tpl}.nii.gz -iseg '
            '"${{SCT_DIR}}"/data/PAM50/template/PAM50_cord.nii.gz -d dmri_moco_dwi_mean.nii.gz -dseg '
            "dmri_moco_dwi_mean_seg.nii.gz -initwarp ../t2/warp_template2anat.nii.gz -initwarpinv "
            "../t2/warp_anat2template.nii.gz -owarp warp_template2dmri.nii.gz -owarpinv warp_dmri2template.nii.gz "
            "-param step=1,type=seg,algo=centermass:step=2,type=seg,algo=bsplinesyn,slicewise=1,iter=3 "
            "-qc ~/qc_singleSubj")
REG_FMRI = ('sct_register_multimodal -i "${{SCT_DIR}}"/data/PAM50/template/{tpl}.nii.gz -iseg '
            '"${{SCT_DIR}}"/data/PAM50/template/PAM50_cord.nii.gz -d fmri_moco_mean.nii.gz -dseg '
            "fmri_moco_mean_seg.nii.gz -param step=1,type=seg,algo=centermass:step=2,type=seg,algo=bsplinesyn,"
            "slicewise=1,iter=3:step=3,type=im,algo=syn,metric=CC,iter=3,slicewise=1 -initwarp "
            "../t2/warp_template2anat.nii.gz -initwarpinv ../t2/warp_anat2template.nii.gz -owarp "
            "warp_template2fmri.nii.gz -owarpinv warp_fmri2template.nii.gz -qc ~/qc_singleSubj")

# The GM-informed t2s registration starts from the t2 warp, whose field ends at t2's top (z 35 mm
# here): t2s slices 5-8 and mt slices 0, 1 and 4 are beyond the chain t2 -> t2s -> mt (in the
# course data the t2 covers the whole cord). The registration names them; checks on the rest.
T2S_CHAIN = ("t2s/warp_template2t2s.nii.gz", "t2/warp_template2anat.nii.gz")
T2S_INIT = ("t2/warp_template2anat.nii.gz",)
MT_CHAIN = ("mt/warp_template2mt.nii.gz",) + T2S_CHAIN

LINES = [
    # Installation and data: offline, the download must fail with a one-line message and leave
    # nothing behind (or succeed from a mirror that holds the course data).
    Line(".", "sct_download_data -d sct_course_data -o sct_course_data", expect="any", offline=True,
         check=_download_offline("sct_course_data", "sct_course_data")),

    # Cord segmentation. `sct_deepseg spinalcord` downloads its model: sct_propseg (no download)
    # writes the same t2_seg.nii.gz.
    Line("t2", "sct_deepseg spinalcord -i t2.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_propseg -i t2.nii.gz -c t2 -qc ~/qc_singleSubj"],
         check=_seg_dice("t2/t2_seg.nii.gz", "t2/t2_seg-manual.nii.gz", 0.85),
         fallback={"t2_seg.nii.gz": _copy_ref("t2/t2_seg-manual.nii.gz")}),
    Line("t2", "sct_deepseg spinalcord -i t2.nii.gz -o test/t2_seg_2.nii.gz",
         sub=["sct_propseg -i t2.nii.gz -c t2 -o test/t2_seg_2.nii.gz"],
         check=_seg_dice("t2/test/t2_seg_2.nii.gz", "t2/t2_seg-manual.nii.gz", 0.85)),
    Line("t2", "sct_deepseg -h", check=_check_deepseg_help),

    # Vertebral labeling. TotalSpineSeg downloads its models: its step-1 disc labels are made from
    # the manual labeled segmentation of sct_testing_data (one point per disc, 3 = C2-C3).
    Line("t2", "sct_deepseg totalspineseg -step1-only -i t2.nii.gz -qc ~/qc_singleSubj",
         sub=[_disc_labels], check=_check_disc_file),
    Line("t2", "sct_label_utils -create-viewer", expect="usage", check=_usage_names_flag("-create-viewer")),
    # interactive: without a display, a one-line error and no output (or labels if it can run)
    Line("t2", 'sct_label_utils -i t2.nii.gz -create-viewer 3,4,5 -o labels_disc.nii.gz -msg "Place labels at '
               'the posterior tip of each inter-vertebral disc. E.g. Label 3: C2/C3, Label 4: C3/C4, etc."',
         expect="any", check=_check_viewer),

    # Shape analysis
    Line("t2", "sct_process_segmentation -i t2_seg.nii.gz -vert 3:4 -discfile t2_step1_levels.nii.gz -o csa_c3c4.csv",
         check=_check_csa_c3c4),
    Line("t2", "sct_process_segmentation -i t2_seg.nii.gz -vert 3:4 -discfile t2_step1_levels.nii.gz -perlevel 1 "
               "-o csa_perlevel.csv", check=_check_csa_perlevel),
    Line("t2", "sct_process_segmentation -i t2_seg.nii.gz -z 30:35 -discfile t2_step1_levels.nii.gz -perslice 1 "
               "-o csa_perslice.csv", check=_check_csa_perslice),
    # the offline PAM50 is cut above C1 (no brainstem, no PMJ label) and t2 stops below the
    # brainstem: a one-line error saying so is the right answer here (detection itself is tested
    # in testing/api/labeling/test_pmj.py with sct_testing_data's template, which has the brainstem)
    Line("t2", "sct_detect_pmj -i t2.nii.gz -c t2 -qc ~/qc_singleSubj", expect="any",
         check=_one_line_error_or(_check_pmj, "PMJ"),
         fallback={"t2_pmj.nii.gz": _pmj_at_top}),
    # -pmj-distance 64 is beyond the 55-mm t2 field of view: 30 mm here
    Line("t2", "sct_process_segmentation -i t2_seg.nii.gz -pmj t2_pmj.nii.gz -pmj-distance 30 -pmj-extent 30 "
               "-o csa_pmj.csv -qc ~/qc_singleSubj -qc-image t2.nii.gz", check=_check_csa_pmj),
    Line("t2", "sct_process_segmentation -normalize-PAM50", expect="usage",
         check=_usage_names_flag("-normalize-PAM50")),
    Line("t2", "sct_process_segmentation -i t2_seg.nii.gz -discfile t2_step1_levels.nii.gz -perslice 1 "
               "-normalize-PAM50 1 -o csa_PAM50.csv", check=_check_csa_pam50),

    # Compression: no compressed cord in sct_testing_data; t2 stands in for t2_compressed (a
    # healthy cord: ratios near 0), the compression points are moved onto its cord (slices 20-31).
    Line("t2_compressed", "sct_deepseg spinalcord -i t2_compressed.nii.gz -qc ~/qc_singleSubj",
         sub=[_copy("t2/t2_seg.nii.gz", "t2_compressed/t2_compressed_seg.nii.gz")],  # same image as t2
         check=_seg_dice("t2_compressed/t2_compressed_seg.nii.gz", "t2/t2_seg-manual.nii.gz", 0.85),
         fallback={"t2_compressed_seg.nii.gz": _copy_ref("t2/t2_seg-manual.nii.gz")}),
    # no init: the C2-C3 disc is found automatically (at the top of t2's field of view)
    Line("t2_compressed", "sct_label_vertebrae -i t2_compressed.nii.gz -s t2_compressed_seg.nii.gz -c t2 "
                          "-qc ~/qc_singleSubj", check=_check_labeled,
         fallback={"t2_compressed_seg_labeled.nii.gz": _manual_levels_anatomical}),
    Line("t2_compressed", "sct_label_utils -i t2_compressed.nii.gz -create "
                          + ":".join(f"{x},{y},{z},1.0" for x, y, z, _ in COMPRESSION_POINTS)
                          + " -o t2_compressed_labels-compression.nii.gz", check=_check_compression_labels,
         fallback={"t2_compressed_labels-compression.nii.gz": _make_labels(COMPRESSION_POINTS)}),
    Line("t2_compressed", "sct_compute_compression -i t2_compressed_seg.nii.gz -vertfile "
                          "t2_compressed_seg_labeled.nii.gz -l t2_compressed_labels-compression.nii.gz -metric "
                          "diameter_AP -normalize-hc 0 -o ap_ratio.csv", check=_check_compression("ap_ratio.csv")),
    Line("t2_compressed", "sct_compute_compression -i t2_compressed_seg.nii.gz -vertfile "
                          "t2_compressed_seg_labeled.nii.gz -l t2_compressed_labels-compression.nii.gz -metric "
                          "diameter_AP -normalize-hc 1 -o ap_ratio_norm_PAM50.csv",
         check=_check_compression("ap_ratio_norm_PAM50.csv")),

    # Registration to the template
    # disc 9 is below the t2 field of view: -keep keeps disc 3 (fallback: the same, made directly)
    Line("t2", "sct_label_utils -i t2_step1_levels.nii.gz -keep 3,9 -o t2_labels_vert.nii.gz", check=_check_keep,
         fallback={"t2_labels_vert.nii.gz": lambda c, p: _save_like(
             c, "t2/t2_step1_levels.nii.gz", p, (_img(c, "t2/t2_step1_levels.nii.gz") == 3).astype(np.uint8) * 3)}),
    Line("t2", "sct_qc -i t2.nii.gz -s t2_labels_vert.nii.gz -p sct_label_utils -qc ~/qc_singleSubj",
         check=_qc_entry("sct_label_utils")),
    Line("t2", "sct_register_to_template -i t2.nii.gz -s t2_seg.nii.gz -ldisc t2_labels_vert.nii.gz -c t2 "
               "-qc ~/qc_singleSubj",
         check=_all(_exists("t2/anat2template.nii.gz", "t2/warp_anat2template.nii.gz"),
                    _warped_cord_dice("t2/warp_template2anat.nii.gz", "t2/t2.nii.gz",
                                      "t2/t2_seg-manual.nii.gz", 0.85, seg_is_ref=True)),
         fallback={"warp_template2anat.nii.gz": _copy_ref("t2/warp_template2anat.nii.gz")}),
    Line("t2", "sct_register_to_template -i t2.nii.gz -s t2_seg.nii.gz -ldisc t2_labels_vert.nii.gz "
               "-qc ~/qc_singleSubj -ofolder advanced_param -c t2 -param step=1,type=seg,algo=rigid:step=2,"
               "type=seg,metric=CC,algo=bsplinesyn,slicewise=1,iter=3:step=3,type=im,metric=CC,algo=syn,"
               "slicewise=1,iter=2",
         check=_warped_cord_dice("t2/advanced_param/warp_template2anat.nii.gz", "t2/t2.nii.gz",
                                 "t2/t2_seg-manual.nii.gz", 0.85, seg_is_ref=True)),
    Line("t2", "sct_register_to_template -i t2.nii.gz -s t2_seg.nii.gz -ldisc t2_step1_levels.nii.gz -c t2",
         check=_warped_cord_dice("t2/warp_template2anat.nii.gz", "t2/t2.nii.gz", "t2/t2_seg-manual.nii.gz",
                                 0.85, seg_is_ref=True)),
    # placeholders <IMAGE> <SEGMENTATION> <LABEL_DISC>: t2's files, run in a separate folder so
    # that the warps of the previous line stay in t2/ for the rest of the course
    Line("t2_ref_subject", "sct_register_to_template -i ../t2/t2.nii.gz -s ../t2/t2_seg.nii.gz -ldisc "
                           "../t2/t2_labels_vert.nii.gz -ref subject -param step=1,type=seg,algo=centermassrot:"
                           "step=2,type=seg,algo=columnwise",
         check=_warped_cord_dice("t2_ref_subject/warp_template2anat.nii.gz", "t2/t2.nii.gz",
                                 "t2/t2_seg-manual.nii.gz", 0.85, seg_is_ref=True)),
    Line("t2", "sct_warp_template -d t2.nii.gz -w warp_template2anat.nii.gz -a 0 -qc ~/qc_singleSubj",
         check=_all(_warp_template_ok("t2", "t2.nii.gz", "warp_template2anat.nii.gz", "t2/t2_seg-manual.nii.gz",
                                     0.85, seg_is_ref=True),
                    _check_levels_agree("t2/label/template/PAM50_levels.nii.gz", 0.75),
                    _exists("t2/label/template/PAM50_spinal_levels.nii.gz"))),

    # Warping fields (placeholders filled with the files of the lines above)
    Line("t2", f"sct_apply_transfo -i {TPL_CORD} -d t2.nii.gz -w warp_template2anat.nii.gz",
         check=_seg_dice("t2/PAM50_cord_reg.nii.gz", "t2/t2_seg-manual.nii.gz", 0.85)),
    Line("t2", "sct_concat_transfo -d t2.nii.gz -w warp_anat2template.nii.gz warp_template2anat.nii.gz",
         check=_check_roundtrip),
    Line("t2", f"sct_image -i warp_template2anat.nii.gz -to-fsl {PAM50}/template/PAM50_t2.nii.gz "
               "-o warp_template2anat_fsl.nii.gz", check=_check_to_fsl),

    # Multimodal registration and MTR
    Line("mt", "sct_deepseg spinalcord -i mt1.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_propseg -i mt1.nii.gz -c t2 -qc ~/qc_singleSubj"],
         check=_seg_dice("mt/mt1_seg.nii.gz", "mt/mt1_seg.nii.gz", 0.8),
         fallback={"mt1_seg.nii.gz": _copy_ref("mt/mt1_seg.nii.gz")}),
    Line("mt", "sct_create_mask -i mt1.nii.gz -p centerline,mt1_seg.nii.gz -size 35mm -f cylinder -o mask_mt1.nii.gz",
         check=_check_mask("mt/mask_mt1.nii.gz", "mt/mt1_seg.nii.gz", 35)),
    Line("mt", f'sct_register_multimodal -i "${{SCT_DIR}}"/data/PAM50/template/PAM50_t2.nii.gz -iseg '
               f'"${{SCT_DIR}}"/data/PAM50/template/PAM50_cord.nii.gz -d mt1.nii.gz -dseg mt1_seg.nii.gz '
               "-m mask_mt1.nii.gz -initwarp ../t2/warp_template2anat.nii.gz -param step=1,type=seg,"
               "algo=centermass:step=2,type=seg,algo=bsplinesyn,slicewise=1,iter=3 -owarp warp_template2mt.nii.gz "
               "-qc ~/qc_singleSubj",
         check=_warped_cord_dice("mt/warp_template2mt.nii.gz", "mt/mt1.nii.gz", "mt/mt1_seg.nii.gz", 0.8,
                                 seg_is_ref=True),
         fallback={"warp_template2mt.nii.gz": _template_to_mt}),
    Line("mt", "sct_label_utils -i mt1_seg.nii.gz -create-seg-mid 4 -o label_c3c4.nii.gz", check=_check_seg_mid),
    Line("mt", "sct_register_to_template -i mt1.nii.gz -s mt1_seg.nii.gz -ldisc label_c3c4.nii.gz -ref subject "
               "-param step=1,type=seg,algo=centermassrot:step=2,type=seg,algo=bsplinesyn,slicewise=1",
         check=_warped_cord_dice("mt/warp_template2anat.nii.gz", "mt/mt1.nii.gz", "mt/mt1_seg.nii.gz", 0.8,
                                 seg_is_ref=True)),
    Line("mt", "sct_warp_template -d mt1.nii.gz -w warp_template2mt.nii.gz -a 1 -qc ~/qc_singleSubj",
         check=_all(_warp_template_ok("mt", "mt1.nii.gz", "warp_template2mt.nii.gz", "mt/mt1_seg.nii.gz", 0.7,
                                     seg_is_ref=True),
                    _exists("mt/label/atlas/PAM50_atlas_00.nii.gz", "mt/label/atlas/PAM50_atlas_36.nii.gz"))),
    Line("mt", "sct_register_multimodal -i mt0.nii.gz -d mt1.nii.gz -dseg mt1_seg.nii.gz -m mask_mt1.nii.gz "
               "-param step=1,type=im,algo=slicereg,metric=CC -x spline -qc ~/qc_singleSubj",
         check=_check_slicereg,
         fallback={"mt0_reg.nii.gz": _copy_ref("mt/mt0_reg_slicereg_goldstandard.nii.gz")}),
    Line("mt", "sct_compute_mtr -mt0 mt0_reg.nii.gz -mt1 mt1.nii.gz", check=_check_mtr,
         fallback={"mtr.nii.gz": _copy_ref("mt/mtr.nii.gz")}),

    # Lumbar cord: no lumbar image in sct_testing_data; t2 stands in for t2_lumbar, with the
    # T9-T10 disc (17) and conus (60) labels put at the top and bottom of its cord.
    Line("t2_lumbar", "sct_deepseg sc_lumbar_t2 -i t2_lumbar.nii.gz -qc ~/qc_singleSubj",
         sub=[_copy("t2/t2_seg.nii.gz", "t2_lumbar/t2_lumbar_seg.nii.gz")],  # same image as t2
         check=_seg_dice("t2_lumbar/t2_lumbar_seg.nii.gz", "t2/t2_seg-manual.nii.gz", 0.85),
         fallback={"t2_lumbar_seg.nii.gz": _copy_ref("t2/t2_seg-manual.nii.gz")}),
    Line("t2_lumbar", "sct_label_utils -i t2_lumbar.nii.gz -create 30,50,25,17:31,3,25,60 -o t2_lumbar_labels.nii.gz "
                      "-qc ~/qc_singleSubj",
         check=lambda c, r: _check_points(c, "t2_lumbar/t2_lumbar_labels.nii.gz", [(30, 50, 25, 17), (31, 3, 25, 60)]),
         fallback={"t2_lumbar_labels.nii.gz": _make_labels([(30, 50, 25, 17), (31, 3, 25, 60)])}),
    Line("t2_lumbar", "sct_qc -i t2_lumbar.nii.gz -s t2_lumbar_labels.nii.gz -p sct_label_utils -qc ~/qc_singleSubj",
         check=_qc_entry("sct_label_utils")),
    Line("t2_lumbar", "sct_register_to_template -i t2_lumbar.nii.gz -s t2_lumbar_seg.nii.gz -ldisc "
                      "t2_lumbar_labels.nii.gz -c t2 -qc ~/qc_singleSubj -param step=1,type=seg,algo=centermassrot:"
                      "step=2,type=seg,algo=bsplinesyn,metric=MeanSquares,iter=3,slicewise=0:step=3,type=im,"
                      "algo=syn,metric=CC,iter=3,slicewise=0",
         check=_warped_cord_dice("t2_lumbar/warp_template2anat.nii.gz", "t2_lumbar/t2_lumbar.nii.gz",
                                 "t2/t2_seg-manual.nii.gz", 0.7, seg_is_ref=True)),

    # Gray and white matter. `sct_deepseg graymatter` downloads its model: sct_deepseg_gm (weights
    # in the data mirror) writes the same t2s_gmseg.nii.gz; the cord by sct_propseg.
    Line("t2s", "sct_deepseg graymatter -i t2s.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_deepseg_gm -i t2s.nii.gz -qc ~/qc_singleSubj"],
         check=_seg_dice("t2s/t2s_gmseg.nii.gz", "t2s/t2s_gmseg_manual.nii.gz", 0.85),
         fallback={"t2s_gmseg.nii.gz": _copy_ref("t2s/t2s_gmseg_manual.nii.gz")}),
    Line("t2s", "sct_deepseg spinalcord -i t2s.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_propseg -i t2s.nii.gz -c t2s -qc ~/qc_singleSubj"],
         check=_seg_dice("t2s/t2s_seg.nii.gz", "t2s/t2s_seg.nii.gz", 0.85),
         fallback={"t2s_seg.nii.gz": _copy_ref("t2s/t2s_seg.nii.gz")}),
    Line("t2s", "sct_maths -i t2s_seg.nii.gz -sub t2s_gmseg.nii.gz -thr 0 -o t2s_wmseg.nii.gz", check=_check_wm_maths,
         fallback={"t2s_wmseg.nii.gz": lambda c, p: _save_like(c, "t2s/t2s_seg.nii.gz", p, np.clip(
             _img(c, "t2s/t2s_seg.nii.gz") - _img(c, "t2s/t2s_gmseg.nii.gz"), 0, None).astype(np.uint8))}),
    Line("t2s", "sct_process_segmentation -i t2s_gmseg.nii.gz -o csa_gm.csv -perslice 1 -angle-corr 0",
         check=_check_csa_exact("t2s/csa_gm.csv", "t2s/t2s_gmseg.nii.gz")),
    Line("t2s", "sct_process_segmentation -i t2s_wmseg.nii.gz -o csa_wm.csv -perslice 1 -angle-corr 0",
         check=_check_csa_exact("t2s/csa_wm.csv", "t2s/t2s_wmseg.nii.gz")),
    Line("t2s", "sct_extract_metric -i t2s.nii.gz -f t2s_wmseg.nii.gz -method bin -z 2:12 -o t2s_value.csv",
         check=_check_extract_bin(0, "t2s/t2s_wmseg.nii.gz")),
    Line("t2s", "sct_extract_metric -i t2s.nii.gz -f t2s_gmseg.nii.gz -method bin -z 2:12 -o t2s_value.csv -append 1",
         check=_check_extract_bin(1, "t2s/t2s_gmseg.nii.gz")),
    # PAM50_t2s is not installed offline (next line): PAM50_t2 stands in
    Line("t2s", REG_T2S.format(tpl="PAM50_t2s"), expect="any",
         check=lambda c, r: _check_missing_template(c, r, "PAM50_t2s")),
    Line("t2s", REG_T2S.format(tpl="PAM50_t2"),
         check=_all(_exists("t2s/warp_t2s2template.nii.gz"), _warns_uncovered("t2s/t2s_wmseg.nii.gz", T2S_INIT),
                    _warped_cord_dice("t2s/warp_template2t2s.nii.gz", "t2s/t2s.nii.gz", "t2s/t2s_seg.nii.gz", 0.8,
                                      chain=T2S_CHAIN),
                    _warped_cord_dice("t2s/warp_template2t2s.nii.gz", "t2s/t2s.nii.gz", "t2s/t2s_wmseg.nii.gz", 0.7,
                                      chain=T2S_CHAIN, label="PAM50_wm"))),
    Line("t2s", "sct_warp_template -d t2s.nii.gz -w warp_template2t2s.nii.gz -qc ~/qc_singleSubj",
         check=_warp_template_ok("t2s", "t2s.nii.gz", "warp_template2t2s.nii.gz", "t2s/t2s_seg.nii.gz", 0.8,
                                 chain=T2S_CHAIN, wm=("t2s/t2s_wmseg.nii.gz", 0.7))),
    Line("mt", f'sct_register_multimodal -i "${{SCT_DIR}}"/data/PAM50/template/PAM50_t2.nii.gz -iseg '
               f'"${{SCT_DIR}}"/data/PAM50/template/PAM50_cord.nii.gz -d mt1.nii.gz -dseg mt1_seg.nii.gz -param '
               "step=1,type=seg,algo=centermass:step=2,type=seg,algo=bsplinesyn,slicewise=1,iter=3 -m mask_mt1.nii.gz "
               "-initwarp ../t2s/warp_template2t2s.nii.gz -owarp warp_template2mt.nii.gz -qc ~/qc_singleSubj",
         check=_all(_warns_uncovered("mt/mt1_seg.nii.gz", T2S_CHAIN),
                    _warped_cord_dice("mt/warp_template2mt.nii.gz", "mt/mt1.nii.gz", "mt/mt1_seg.nii.gz", 0.8,
                                      seg_is_ref=True, chain=MT_CHAIN))),
    Line("mt", "sct_warp_template -d mt1.nii.gz -w warp_template2mt.nii.gz -qc ~/qc_singleSubj",
         check=_warp_template_ok("mt", "mt1.nii.gz", "warp_template2mt.nii.gz", "mt/mt1_seg.nii.gz", 0.8,
                                 seg_is_ref=True, chain=MT_CHAIN)),

    # Atlas-based metrics. mt1 has 5 slices: -z 5:15 becomes -z 1:3.
    Line("mt", "sct_extract_metric -i mtr.nii.gz -f label/atlas -method map -l 51 -o mtr_in_wm.csv",
         # neither -z nor -vert: one row per slice, as the established tool (mt1 has 5 slices), with a
         # value on exactly the slices the warped white matter reaches
         check=_check_atlas_map("mt/mtr_in_wm.csv", 5, with_values="mt/label/template/PAM50_wm.nii.gz")),
    Line("mt", "sct_extract_metric -i mtr.nii.gz -f label/atlas -method map -l 4,5 -z 1:3 -o mtr_in_cst.csv",
         check=_check_atlas_map("mt/mtr_in_cst.csv", 2)),
    Line("mt", "sct_extract_metric -i mtr.nii.gz -f label/atlas -method map -l 53 -vert 2:4 -vertfile "
               "label/template/PAM50_levels.nii.gz -o mtr_in_dc.csv", check=_check_atlas_map("mt/mtr_in_dc.csv", 1)),

    # Diffusion MRI. Cord segmentations by sct_propseg -c dwi (spinalcord model: download).
    Line("dmri", "sct_dmri_separate_b0_and_dwi -i dmri.nii.gz -bvec bvecs.txt", check=_check_dwi_mean),
    Line("dmri", "sct_deepseg spinalcord -i dmri_dwi_mean.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_propseg -i dmri_dwi_mean.nii.gz -c dwi -qc ~/qc_singleSubj"],
         check=_check_on_centerline("dmri/dmri_dwi_mean_seg.nii.gz", "dmri/dwi_mean_centerline-optic.nii.gz")),
    Line("dmri", "sct_create_mask -i dmri_dwi_mean.nii.gz -p centerline,dmri_dwi_mean_seg.nii.gz -size 35mm",
         check=_check_mask("dmri/mask_dmri_dwi_mean.nii.gz", "dmri/dmri_dwi_mean_seg.nii.gz", 35)),
    Line("dmri", "sct_dmri_moco -i dmri.nii.gz -m mask_dmri_dwi_mean.nii.gz -bvec bvecs.txt -qc ~/qc_singleSubj "
                 "-qc-seg dmri_dwi_mean_seg.nii.gz",
         check=_exists("dmri/dmri_moco.nii.gz", "dmri/dmri_moco_dwi_mean.nii.gz")),
    Line("dmri", "sct_deepseg spinalcord -i dmri_moco_dwi_mean.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_propseg -i dmri_moco_dwi_mean.nii.gz -c dwi -qc ~/qc_singleSubj"],
         check=_check_on_centerline("dmri/dmri_moco_dwi_mean_seg.nii.gz", "dmri/dwi_mean_centerline-optic.nii.gz")),
    # PAM50_t1 is not installed offline (next line): PAM50_t2 stands in (the steps use segmentations only)
    Line("dmri", REG_DMRI.format(tpl="PAM50_t1"), expect="any",
         check=lambda c, r: _check_missing_template(c, r, "PAM50_t1")),
    Line("dmri", REG_DMRI.format(tpl="PAM50_t2"),
         check=_warped_cord_dice("dmri/warp_template2dmri.nii.gz", "dmri/dmri_moco_dwi_mean.nii.gz",
                                 "dmri/dmri_moco_dwi_mean_seg.nii.gz", 0.75)),
    Line("dmri", "sct_warp_template -d dmri_moco_dwi_mean.nii.gz -w warp_template2dmri.nii.gz -qc ~/qc_singleSubj",
         check=_warp_template_ok("dmri", "dmri_moco_dwi_mean.nii.gz", "warp_template2dmri.nii.gz",
                                 "dmri/dmri_moco_dwi_mean_seg.nii.gz", 0.75)),
    Line("dmri", "sct_dmri_compute_dti -i dmri_moco.nii.gz -bval bvals.txt -bvec bvecs.txt", check=_check_fa),
    Line("dmri", "sct_extract_metric -i dti_FA.nii.gz -f label/atlas -l 51 -method map -vert 2:5 -vertfile "
                 "label/template/PAM50_levels.nii.gz -perlevel 1 -o fa_in_wm.csv",
         check=lambda c, r: _check_fa_csv(c)),

    # Functional MRI. Cord segmentation by sct_propseg -c t2s (EPI: CSF brighter than cord).
    Line("fmri", "sct_maths -i fmri.nii.gz -mean t -o fmri_mean.nii.gz", check=_check_fmri_mean),
    Line("fmri", "sct_register_multimodal -i ../t2/t2_seg.nii.gz -d fmri_mean.nii.gz -identity 1",
         check=_check_identity),
    Line("fmri", "sct_create_mask -i fmri.nii.gz -p centerline,t2_seg_reg.nii.gz -size 35mm -f cylinder",
         check=_check_mask("fmri/mask_fmri.nii.gz", "fmri/t2_seg_reg.nii.gz", 35)),
    Line("fmri", "sct_fmri_moco -i fmri.nii.gz -m mask_fmri.nii.gz -qc ~/qc_singleSubj -qc-seg t2_seg_reg.nii.gz",
         check=_all(_exists("fmri/fmri_moco_mean.nii.gz"),
                    _check_moco("fmri/fmri_moco.nii.gz", "fmri/fmri.nii.gz", "fmri/mask_fmri.nii.gz"))),
    Line("fmri", "sct_deepseg spinalcord -i fmri_moco_mean.nii.gz -qc ~/qc_singleSubj/",
         sub=["sct_propseg -i fmri_moco_mean.nii.gz -c t2s -qc ~/qc_singleSubj/"],
         check=_check_epi_seg,
         fallback={"fmri_moco_mean_seg.nii.gz": lambda c, p: shutil.copyfile(c.path("fmri/t2_seg_reg.nii.gz"), p)}),
    Line("fmri", "sct_fmri_compute_tsnr -i fmri.nii.gz",
         check=_check_tsnr("fmri/fmri_tsnr.nii.gz", "fmri/fmri.nii.gz")),
    Line("fmri", "sct_fmri_compute_tsnr -i fmri_moco.nii.gz",
         check=_all(_check_tsnr("fmri/fmri_moco_tsnr.nii.gz", "fmri/fmri_moco.nii.gz"), _check_tsnr_gain)),
    Line("fmri", "sct_qc -i fmri_tsnr.nii.gz -d fmri_moco_tsnr.nii.gz -s fmri_moco_mean_seg.nii.gz -p "
                 "sct_fmri_compute_tsnr -qc ~/qc_singleSubj/", check=_qc_entry("sct_fmri_compute_tsnr")),
    # PAM50_t2s is not installed offline (as-written line first): PAM50_t2 stands in
    Line("fmri", REG_FMRI.format(tpl="PAM50_t2s"), expect="any",
         check=lambda c, r: _check_missing_template(c, r, "PAM50_t2s")),
    Line("fmri", REG_FMRI.format(tpl="PAM50_t2"),
         check=_warped_cord_dice("fmri/warp_template2fmri.nii.gz", "fmri/fmri_moco_mean.nii.gz",
                                 "fmri/fmri_moco_mean_seg.nii.gz", 0.6)),
    Line("fmri", "sct_warp_template -d fmri_moco_mean.nii.gz -w warp_template2fmri.nii.gz -a 0 -qc ~/qc_singleSubj",
         check=_warp_template_ok("fmri", "fmri_moco_mean.nii.gz", "warp_template2fmri.nii.gz",
                                 "fmri/fmri_moco_mean_seg.nii.gz", 0.6)),

    # Other tools
    Line("t2", "sct_image -stitch", expect="usage", check=_usage_names_flag("-stitch")),
    # the same flag at work: two overlapping chunks of t2 with different gains
    Line("t2", "sct_image -i t2_chunk1.nii.gz t2_chunk2.nii.gz -stitch -o t2_stitched.nii.gz",
         sub=[_stitch_chunks, "sct_image -i t2_chunk1.nii.gz t2_chunk2.nii.gz -stitch -o t2_stitched.nii.gz"],
         check=_check_stitch),
    Line("t1", "sct_deepseg spinalcord -i t1.nii.gz -qc ~/qc_singleSubj/",
         sub=["sct_propseg -i t1.nii.gz -c t1 -qc ~/qc_singleSubj/"],
         check=_seg_dice("t1/t1_seg.nii.gz", "t1/t1w_seg-manual.nii.gz", 0.85),
         fallback={"t1_seg.nii.gz": _copy_ref("t1/t1w_seg-manual.nii.gz")}),
    Line("t1", "sct_smooth_spinalcord -i t1.nii.gz -s t1_seg.nii.gz", check=_check_smooth),
    Line("t1", "sct_deepseg spinalcord -i t1_smooth.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_propseg -i t1_smooth.nii.gz -c t1 -qc ~/qc_singleSubj"], needs=("sct_smooth_spinalcord",),
         check=lambda c, r: _dice_files(c, "t1/t1_smooth_seg.nii.gz", "t1/t1_seg.nii.gz", 0.85)),
    Line("t1", "sct_flatten_sagittal -i t1.nii.gz -s t1_seg.nii.gz", check=_check_flatten),

    # Batch processing and manual correction
    Line("batch", "sct_run_batch -script process_data.sh -config config.yml -jobs 3",
         sub=[_write_batch, "sct_run_batch -script process_data.sh -config config.yml -jobs 3"],
         check=_check_batch("output")),
    Line("batch", "sct_download_data -d manual-correction -o manual-correction", expect="any", offline=True,
         check=_download_offline("manual-correction", "batch/manual-correction")),
    Line("batch", "sct_run_batch -script process_data.sh -path-data data/ -path-output output_correction -jobs 3",
         check=_check_batch("output_correction")),

    # New models and lesion analysis (in t2/). lesion_ms: no offline model segments MS lesions on
    # sagittal T2; sct_deepseg_lesion (t2_ax weights in the mirror) must find none on this healthy cord.
    Line("t2", "sct_deepseg lesion_ms -i t2.nii.gz -qc ~/qc_singleSubj -qc-seg t2_seg.nii.gz -single-fold",
         sub=["sct_deepseg_lesion -i t2.nii.gz -c t2_ax -qc ~/qc_singleSubj"],
         check=lambda c, r: _assert((_img(c, "t2/t2_lesionseg.nii.gz") > 0.5).sum() == 0,
                                    "lesions found on a healthy cord")),
    # lesion_sci_t2 (download): a synthetic lesion in the cord, and the cord segmentation as t2_sc_seg
    Line("t2", "sct_deepseg lesion_sci_t2 -i t2.nii.gz -qc ~/qc_singleSubj", sub=[_synthetic_lesion],
         check=_exists("t2/t2_lesion_seg.nii.gz", "t2/t2_sc_seg.nii.gz")),
    Line("t2", "sct_analyze_lesion -m t2_lesion_seg.nii.gz -s t2_sc_seg.nii.gz -qc ~/qc_singleSubj",
         check=_check_lesion(False)),
    Line("t2", "sct_analyze_lesion -f", expect="usage", check=_usage_names_flag("-f")),
    Line("t2", "sct_warp_template -d t2.nii.gz -w ../t2/warp_template2anat.nii.gz",
         check=_exists("t2/label/atlas/PAM50_atlas_00.nii.gz")),
    Line("t2", "sct_analyze_lesion -m t2_lesion_seg.nii.gz -s t2_sc_seg.nii.gz -f label -qc ~/qc_singleSubj",
         check=_check_lesion(True)),
    Line("fmri", "sct_deepseg sc_epi -i fmri_moco_mean.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_propseg -i fmri_moco_mean.nii.gz -c t2s -qc ~/qc_singleSubj"],
         check=_check_epi_seg),
    # sc_canal_t2 (download): the cord dilated by 3 mm stands in for the canal
    Line("t2", "sct_deepseg sc_canal_t2 -i t2.nii.gz -qc ~/qc_singleSubj",
         sub=["sct_maths -i t2_seg.nii.gz -dilate 3 -o t2_canal_seg.nii.gz"], check=_check_canal),
    Line("t2", "sct_compute_ascor -i-SC t2_seg.nii.gz -i-canal t2_canal_seg.nii.gz -perlevel -1 -o ascor.csv",
         check=_check_ascor),
    Line("t2", "sct_deepseg totalspineseg -i t2.nii.gz -qc ~/qc_singleSubj", sub=[_disc_labels],
         check=_check_disc_file),
    # rootlets (download): the rootlet segmentation of sct_testing_data
    Line("t2", "sct_deepseg rootlets -i t2.nii.gz -qc ~/qc_singleSubj",
         sub=[lambda c: shutil.copyfile(c.ref("t2/t2_seg-deepseg_rootlets.nii.gz"), c.path("t2/t2_rootlets.nii.gz"))],
         check=lambda c, r: _assert(len(np.unique(_img(c, "t2/t2_rootlets.nii.gz"))) > 2, "no rootlet levels")),
    Line("t2", "sct_register_to_template -lrootlet", expect="usage", check=_usage_names_flag("-lrootlet")),
    Line("t2", "sct_process_segmentation -symmetry", expect="usage", check=_usage_names_flag("-symmetry")),
]


def _assert(cond, msg):
    assert cond, msg


def _dice_files(c, a, b, minimum):
    d = dice(_img(c, a), _img(c, b))
    assert d >= minimum, f"{a}: Dice {d:.3f} with {b} < {minimum}"


def _save_like(c, like_rel, dest, data):
    import nibabel as nib
    img = nib.load(str(c.path(like_rel)))
    nib.save(nib.Nifti1Image(data, img.affine), str(dest))


def _check_points(c, rel, points):
    lab = _img(c, rel)
    pts = sorted((int(x), int(y), int(z), int(lab[x, y, z])) for x, y, z in zip(*np.nonzero(lab)))
    assert pts == sorted(points)


def _check_missing_template(c, r, name):
    """A template contrast that is not installed: a one-line error naming the file."""
    if (c.root / f"sct/data/PAM50/template/{name}.nii.gz").exists():
        pytest.skip(f"{name} is installed: the line runs in full with it")
    assert r.code != 0 and "Traceback" not in r.err, r.err[-500:]
    assert name in last_line(r.err), last_line(r.err)


def _check_fa_csv(c):
    df = _csv(c, "dmri/fa_in_wm.csv")
    assert len(df) >= 1
    assert df["MAP()"].between(0.4, 0.95).all(), list(df["MAP()"])


# ----------------------------------------------------------------------------- the test
@pytest.fixture(scope="module")
def course(tmp_path_factory, sct_testing_data, pam50):
    c = Course(tmp_path_factory.mktemp("course"), sct_testing_data)
    with pytest.MonkeyPatch.context() as mp:
        c.environment(mp)
        c.build()
        yield c


def _ids(lines):
    out = []
    for i, ln in enumerate(lines):
        words = ln.line.split()
        name = "_".join(w for w in words[:2] if not w.startswith("-"))
        out.append(f"{i:02d}-{ln.folder}-{name}")
    return out


def _no_network(*args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "offline (test)")


def _run(course, line, capfd):
    for name in line.needs:
        if not command_exists(name):
            pytest.skip(f"needs the output of {name}, not on this branch yet")
    steps = line.sub or [line.line]
    result = None
    for step in steps:
        if callable(step):
            step(course)
            continue
        with pytest.MonkeyPatch.context() as mp:
            if line.offline:
                mp.setattr(socket, "getaddrinfo", _no_network)
            code, out, err = course.run(step, line.folder, capfd)
        result = Result(code, out, err, shell_words(step))
        if line.expect == "ok":
            assert code == 0, f"exit {code}: {last_line(err) or last_line(out)}"
        elif line.expect == "usage":
            # one line pointing at the help (issue 14: the usage itself only with -h)
            assert code == 2 and len(err.strip().splitlines()) == 1 and "-h)" in err, \
                f"exit {code}: {last_line(err)}"
    if line.check:
        line.check(course, result or Result(0, "", ""))


@pytest.mark.parametrize("line", [pytest.param(ln, marks=pytest.mark.xfail(reason=ln.known_issue, strict=False))
                                  if ln.known_issue else ln for ln in LINES], ids=_ids(LINES))
def test_course_line(course, line, capfd, record_property):
    import resource
    start = resource.getrusage(resource.RUSAGE_SELF)
    def provide_fallbacks():
        for name, make in line.fallback.items():
            dest = course.path(line.folder) / name
            if not dest.exists():
                make(course, dest)

    try:
        _run(course, line, capfd)
    except BaseException:
        # skipped or failed: provide its outputs from manual data so later lines test their own command
        provide_fallbacks()
        raise
    else:
        provide_fallbacks()  # a documented refusal on this data (expect="any") wrote nothing
    finally:
        end = resource.getrusage(resource.RUSAGE_SELF)
        record_property("cpu_s", round(end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime, 2))


def test_every_course_command_is_covered():
    """Every command named in the course document has a line here."""
    import re
    from spinalcordtoolbox.download import SHARED_DATA
    doc = SHARED_DATA.parent / "docs" / "course_commands.md"
    if not doc.is_file():
        pytest.skip("course_commands.md not found")
    named = set(re.findall(r"^\s{4}(sct_\w+)", doc.read_text(), re.M))
    covered = {ln.line.split()[0] for ln in LINES}
    assert named <= covered, f"course commands without a line: {sorted(named - covered)}"
    assert command_exists("sct_image")
