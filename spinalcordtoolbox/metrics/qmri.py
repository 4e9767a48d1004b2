"""Quantitative MRI maps from magnitude images: MTR, MTsat and T1 (Helms 2008), Ernst angle.

Conventions (shared with the established toolbox):

- MTR = 100 (mt0 - mt1) / mt0 [%]. Where mt0 = 0 (or an input is not finite) the ratio is
  undefined and the output is NaN; elsewhere values are clipped to [-thr, thr] (default 100)
  so that a tiny denominator cannot produce huge values.
- MTsat from an MT-weighted, a PD-weighted and a T1-weighted FLASH (small flip-angle
  approximation of Helms et al., MRM 2008; 60:1396, with its erratum):
  ``R1 = 1/2 (a_t1 S_t1 / TR_t1 - a_pd S_pd / TR_pd) / (S_pd / a_pd - S_t1 / a_t1)``,
  ``A = S_pd S_t1 (TR_pd a_t1 / a_pd - TR_t1 a_pd / a_t1) / (TR_pd a_t1 S_t1 - TR_t1 a_pd S_pd)``,
  ``MTsat = TR_mt R1 (a_mt A / S_mt - 1) - a_mt^2 / 2``, flip angles in radians, TR in s,
  MTsat in percent units (x100), T1 = 1 / R1 in s. Voxels where a map is not finite, R1 is
  below 0.01 s^-1 (T1 > 100 s) or |MTsat| exceeds 1 (100 p.u.) are set to 0 (the established
  toolbox zeroes unrealistic MTsat the same way; its test data give a mean MTsat of 1.95260).
  Optional B1 correction of MTsat (Weiskopf et al., Front. Neurosci. 2013):
  ``MTsat (1 - 0.4) / (1 - 0.4 B1)`` with B1 the relative flip-angle map (1 = nominal).
"""
from __future__ import annotations

import json
import logging
import os

import numpy as np

from spinalcordtoolbox.image import Image, check_same_grid
from spinalcordtoolbox.utils.cli import SCTError

logger = logging.getLogger(__name__)

#: empirical B1 correction factor of MTsat (Weiskopf et al. 2013)
B1_CORRECTION_FACTOR = 0.4


def _float_data(im: Image) -> np.ndarray:
    return np.asarray(im.data, dtype=np.float64)


def compute_mtr(im_mt0: Image, im_mt1: Image, threshold=100.0) -> Image:
    """MTR [%] on the grid and header of ``im_mt1``; NaN where mt0 is 0 or an input not finite."""
    check_same_grid(im_mt0, im_mt1, names=("MT-off image (-mt0)", "MT-on image (-mt1)"))
    if im_mt0.data.shape != im_mt1.data.shape:
        raise SCTError(f"-mt0 {im_mt0.data.shape} and -mt1 {im_mt1.data.shape} have different shapes")
    if threshold <= 0:
        raise SCTError(f"-thr must be positive, got {threshold}")
    mt0, mt1 = _float_data(im_mt0), _float_data(im_mt1)
    valid = (mt0 != 0) & np.isfinite(mt0) & np.isfinite(mt1)
    mtr = np.full(mt0.shape, np.nan)
    mtr[valid] = 100.0 * (mt0[valid] - mt1[valid]) / mt0[valid]
    np.clip(mtr, -threshold, threshold, out=mtr)
    n_undefined = int((~valid).sum())
    if n_undefined:
        logger.info("%d voxels with mt0 = 0 (or a non-finite input) set to NaN", n_undefined)
    out = Image(mtr.astype(np.float32), hdr=im_mt1.hdr, affine=im_mt1.affine)
    out.hdr.set_data_dtype(np.float32)
    return out


def read_sidecar(path_nifti, key):
    """Value of ``key`` (RepetitionTime [s], FlipAngle [deg]) in the BIDS JSON next to the image."""
    base = os.fspath(path_nifti)
    for ext in (".nii.gz", ".nii"):
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    sidecar = base + ".json"
    if not os.path.isfile(sidecar):
        return None
    try:
        with open(sidecar, encoding="utf-8") as f:
            value = json.load(f).get(key)
    except (OSError, ValueError) as e:
        raise SCTError(f"Cannot read the JSON sidecar {sidecar}: {e}") from None
    return None if value is None else float(value)


def acquisition_parameter(value, image_path, key, flag):
    """A TR / flip angle from the command line, else from the image's JSON sidecar."""
    if value is not None:
        return float(value)
    found = read_sidecar(image_path, key) if image_path else None
    if found is None:
        raise SCTError(f"{flag} is needed: no value given and no '{key}' in a JSON sidecar next to "
                       f"{image_path}")
    logger.info("%s = %s (from the JSON sidecar of %s)", flag, found, os.path.basename(image_path))
    return found


def compute_mtsat(im_mt: Image, im_pd: Image, im_t1: Image, tr_mt, tr_pd, tr_t1, fa_mt, fa_pd, fa_t1,
                  im_b1: Image | None = None):
    """(MTsat [p.u.], T1 [s]) images on the grid of ``im_mt``; TR in s, flip angles in degrees."""
    for im, name in ((im_pd, "PD-weighted image (-pd)"), (im_t1, "T1-weighted image (-t1)")):
        check_same_grid(im, im_mt, names=(name, "MT-weighted image (-mt)"))
    if im_b1 is not None:
        check_same_grid(im_b1, im_mt, names=("B1 map (-b1map)", "MT-weighted image (-mt)"))
    for name, v in (("TR", tr_mt), ("TR", tr_pd), ("TR", tr_t1), ("flip angle", fa_mt),
                    ("flip angle", fa_pd), ("flip angle", fa_t1)):
        if not v > 0:
            raise SCTError(f"Every {name} must be positive, got {v}")
    if max(tr_mt, tr_pd, tr_t1) > 10:
        logger.warning("TR values above 10: TR must be given in seconds, not milliseconds")
    a_mt, a_pd, a_t1 = np.radians([fa_mt, fa_pd, fa_t1])
    s_mt, s_pd, s_t1 = _float_data(im_mt), _float_data(im_pd), _float_data(im_t1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r1 = 0.5 * (a_t1 * s_t1 / tr_t1 - a_pd * s_pd / tr_pd) / (s_pd / a_pd - s_t1 / a_t1)
        amp = (s_pd * s_t1 * (tr_pd * a_t1 / a_pd - tr_t1 * a_pd / a_t1)
               / (tr_pd * a_t1 * s_t1 - tr_t1 * a_pd * s_pd))
        mtsat = tr_mt * r1 * (a_mt * amp / s_mt - 1) - a_mt ** 2 / 2
        t1 = 1.0 / r1
    bad_r1 = ~np.isfinite(r1) | (r1 < 0.01)
    t1[bad_r1] = 0.0
    bad_mtsat = bad_r1 | ~np.isfinite(mtsat) | (np.abs(mtsat) > 1)
    mtsat[bad_mtsat] = 0.0
    if bad_r1.any():
        logger.info("%d voxels with no valid R1 (not finite or T1 > 100 s): T1 and MTsat set to 0",
                    int(bad_r1.sum()))
    n_unrealistic = int((bad_mtsat & ~bad_r1).sum())
    if n_unrealistic:
        logger.info("%d voxels with |MTsat| > 100 p.u. or not finite: set to 0", n_unrealistic)
    mtsat *= 100.0
    if im_b1 is not None:
        b1 = _float_data(im_b1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mtsat = mtsat * (1 - B1_CORRECTION_FACTOR) / (1 - B1_CORRECTION_FACTOR * b1)
        mtsat[~np.isfinite(mtsat)] = 0.0
    out = []
    for data in (mtsat, t1):
        im = Image(data.astype(np.float32), hdr=im_mt.hdr, affine=im_mt.affine)
        im.hdr.set_data_dtype(np.float32)
        out.append(im)
    return out[0], out[1]


def ernst_angle(tr, t1) -> float:
    """Flip angle [deg] maximising the FLASH signal: arccos(exp(-TR / T1)) (same units for TR, T1)."""
    if not (tr > 0 and t1 > 0):
        raise SCTError(f"TR and T1 must be positive, got TR={tr}, T1={t1}")
    return float(np.degrees(np.arccos(np.exp(-tr / t1))))


#: Siemens phase images store the phase as 13-bit integers: -4096..4095 for -pi..pi
PHASE_INT13 = 4096


def phase_to_velocity(im_phase: Image, venc) -> Image:
    """Velocity [same unit as ``venc``, e.g. cm/s] from a phase-contrast phase image.

    velocity = phase / pi * venc, the phase in radians: images whose values lie in [-pi, pi]
    are taken as radians, integer images in [-4096, 4095] as Siemens 13-bit phase
    (phase = value / 4096 * pi); any other range is refused (the velocity would exceed VENC).
    """
    if not venc > 0:
        raise SCTError(f"-venc must be positive, got {venc}")
    data = np.asarray(im_phase.data, dtype=np.float64)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        raise SCTError("The phase image has no finite value")
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= -np.pi - 1e-6 and hi <= np.pi + 1e-6 and not np.all(finite == np.round(finite)):
        phase = data
    elif lo >= -PHASE_INT13 and hi <= PHASE_INT13 - 1:
        phase = data / PHASE_INT13 * np.pi
    else:
        raise SCTError(f"Phase values {lo:g}..{hi:g} are neither radians (-pi..pi) nor 13-bit "
                       f"integers (-4096..4095): rescale the phase image first")
    out = Image((phase / np.pi * venc).astype(np.float32), hdr=im_phase.hdr, affine=im_phase.affine)
    out.hdr.set_data_dtype(np.float32)
    return out


def plot_ernst_angle(t1, tr, tr_min, tr_max, path):
    """Figure of the Ernst angle against TR (range widened to include ``tr``), ``tr`` marked."""
    import matplotlib
    logging.getLogger("matplotlib").setLevel(logging.WARNING)   # its debug output floods -v 2
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from spinalcordtoolbox.utils.fs import atomic_output

    tr_min, tr_max = min(tr_min, tr), max(tr_max, tr)
    trs = np.linspace(tr_min, tr_max, 100)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(trs, np.degrees(np.arccos(np.exp(-trs / t1))), lw=1)
    ax.plot([tr], [ernst_angle(tr, t1)], "ro")
    ax.set_xlabel("TR [ms]")
    ax.set_ylabel("Ernst angle [deg]")
    ax.set_title(f"Ernst angle, T1 = {t1:g} ms")
    ax.grid(True)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
