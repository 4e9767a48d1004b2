"""Probability of spinal cord compression at the intervertebral discs C3/C4 to C6/C7.

Logistic model of Horáková et al., Quant. Imaging Med. Surg. 2022 (eq. 4, table 3) on the cord
shape of an axial slice at a disc: compression ratio CR = 100 x AP/RL diameter [%], cross-sectional
area CSA [mm^2], solidity [%] and torsion [deg]::

    logit p = 57.501 - 0.273 CR - 0.102 CSA - 0.408 solidity + 2.168 torsion - 2.729 [disc C6/C7]

Torsion (their eq. 3) is the mean absolute change of the cord orientation between neighbouring
slices over the three slices above and below (six differences); when it cannot be computed (image
edge, slice without cord) its term is left out, as the established toolbox does. Categories:
p > 0.451 "yes", p > 0.345 "possible", else "no". Shape metrics come from
:func:`spinalcordtoolbox.shape.process_seg.compute_shape`.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.utils.cli import SCTError

logger = logging.getLogger(__name__)

SUPPORTED_DISCS = {4: "C3/C4", 5: "C4/C5", 6: "C5/C6", 7: "C6/C7"}
CUT_OFF_HIGH, CUT_OFF_MODERATE = 0.451, 0.345
COEFFICIENTS = {"constant": 57.501, "cr": -0.273, "csa": -0.102, "solidity": -0.408, "torsion": 2.168,
                "level_c6c7": -2.729}
COLUMNS = ["Disc", "Axial slice #", "Compression probability", "Compression probability category",
           "Compression ratio (%)", "CSA (mm2)", "Solidity (%)", "Torsion (degrees)"]


def compression_probability(cr, csa, solidity, torsion, disc) -> float:
    """Model probability for one slice (CR and solidity in %, CSA in mm^2, torsion in deg or None)."""
    c = COEFFICIENTS
    logit = (c["constant"] + c["cr"] * cr + c["csa"] * csa + c["solidity"] * solidity
             + (c["torsion"] * torsion if torsion is not None else 0.0)
             + (c["level_c6c7"] if disc == 7 else 0.0))
    return 1.0 / (1.0 + math.exp(-logit))


def category(p: float) -> str:
    return "yes" if p > CUT_OFF_HIGH else "possible" if p > CUT_OFF_MODERATE else "no"


def torsion(orientation: np.ndarray, z: int):
    """Mean absolute orientation change over the 3 slices on each side of ``z`` (None if unavailable)."""
    if z - 3 < 0 or z + 3 >= len(orientation):
        return None
    o = orientation
    pairs = [(z, z - 1), (z, z + 1), (z - 1, z - 2), (z + 1, z + 2), (z - 2, z - 3), (z + 2, z + 3)]
    diffs = [abs(o[a] - o[b]) for a, b in pairs]
    return None if np.isnan(diffs).any() else float(np.sum(diffs) / 6)


def disc_slices(im_discs: Image) -> dict:
    """RPI slice of each disc label value."""
    coords = im_discs.copy().require_3d("disc file").change_orientation("RPI").nonzero_coords()
    if len(coords) == 0:
        raise SCTError("Disc file is empty.")
    out = {}
    for x, y, z, v in coords:
        out.setdefault(int(round(v)), int(z))
    return out


def detect_compression(im_seg: Image, im_discs: Image, angle_correction=True, num_of_slices=0) -> list:
    """Rows (dicts keyed by :data:`COLUMNS`): one per slice within ``num_of_slices`` of each supported disc."""
    from spinalcordtoolbox.shape.process_seg import compute_shape

    im_seg = im_seg.copy().require_3d("segmentation")
    if not np.any(im_seg.data):
        raise SCTError("Spinal cord segmentation file is empty.")
    if im_discs.data.shape[:3] != im_seg.data.shape[:3]:
        raise SCTError(f"The disc file {im_discs.data.shape[:3]} and the segmentation "
                       f"{im_seg.data.shape[:3]} have different dimensions")
    if num_of_slices < 0:
        raise SCTError(f"-num-of-slices must be >= 0, got {num_of_slices}")
    discs = {d: z for d, z in sorted(disc_slices(im_discs).items()) if d in SUPPORTED_DISCS}
    if not discs:
        raise SCTError(f"No disc label between 4 (C3/C4) and 7 (C6/C7) in the disc file: the model "
                       f"covers only these discs")
    metrics, _ = compute_shape(im_seg, angle_correction=angle_correction, progress=False)
    nz = len(metrics["area"])
    rows = []
    for disc, zc in discs.items():
        for z in range(zc + num_of_slices, zc - num_of_slices - 1, -1):
            row = {"Disc": SUPPORTED_DISCS[disc], "Axial slice #": z}
            if not 0 <= z < nz or np.isnan(metrics["area"][z]):
                logger.warning("Disc %s: no cord on slice %d, no prediction", SUPPORTED_DISCS[disc], z)
                rows.append(row)
                continue
            cr = 100.0 * metrics["diameter_AP"][z] / metrics["diameter_RL"][z]
            csa = float(metrics["area"][z])
            sol = 100.0 * metrics["solidity"][z]
            tor = torsion(metrics["orientation"], z)
            p = compression_probability(cr, csa, sol, tor, disc)
            row.update({"Compression probability": p, "Compression probability category": category(p),
                        "Compression ratio (%)": cr, "CSA (mm2)": csa, "Solidity (%)": sol,
                        "Torsion (degrees)": tor})
            rows.append(row)
    return rows
