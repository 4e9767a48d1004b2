"""The ``-param`` option of the motion-correction commands: ``poly=2,smooth=1,metric=CC,...``.

Keys (established names):

* ``poly``: degree of the polynomial regularising the translations along z (0: one translation
  for the whole volume).
* ``smooth``: in-plane Gaussian smoothing (sigma, mm) of the images compared (not of the output).
* ``metric``: ``MeanSquares``, ``CC`` or ``MI``.
* ``gradStep``: step, in voxels, of the coarse search of each slice's translation, before its
  continuous refinement (smaller: slower, fewer local minima).
* ``sample``: fraction (0-1] of the voxels (of the mask) used by the metric; ``None``: all.
* ``search``: largest translation searched, in mm.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from spinalcordtoolbox.utils.cli import SCTError, choice_error

METRICS = ("MeanSquares", "CC", "MI")


@dataclass(frozen=True)
class MocoParam:
    poly: int = 2
    smooth: float = 1.0
    metric: str = "CC"
    gradStep: float = 1.0
    sample: float | None = None
    search: float = 5.0

    def as_string(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


#: dMRI: DW volumes of different directions differ in contrast, which CC tolerates (the
#: established toolbox uses MI; CC is smoother to optimise at sub-voxel precision)
DMRI_DEFAULT = MocoParam()
#: fMRI: volumes of identical contrast
FMRI_DEFAULT = MocoParam(smooth=0.0, metric="MeanSquares")


def parse_moco_param(text: str | None, default: MocoParam) -> MocoParam:
    """``"poly=0,metric=MeanSquares"`` -> a copy of ``default`` with those values, validated."""
    if not text:
        return default
    keys = {f.name: f for f in fields(MocoParam)}
    values = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise SCTError(f"-param items are key=value, got '{item}'")
        key, value = (t.strip() for t in item.split("=", 1))
        if key not in keys:
            raise choice_error("-param key", key, keys)
        try:
            if key == "poly":
                values[key] = int(float(value))
            elif key == "metric":
                if value not in METRICS:
                    raise choice_error("metric", value, METRICS)
                values[key] = value
            elif key == "sample":
                values[key] = None if value.lower() == "none" else float(value)
            else:
                values[key] = float(value)
        except ValueError:
            raise SCTError(f"-param {key}={value}: not a number") from None
    p = replace(default, **values)
    if p.poly < 0:
        raise SCTError(f"-param poly must be >= 0, got {p.poly}")
    if p.smooth < 0:
        raise SCTError(f"-param smooth must be >= 0 (mm), got {p.smooth}")
    if not p.gradStep > 0:
        raise SCTError(f"-param gradStep must be > 0 (voxels), got {p.gradStep}")
    if p.sample is not None and not 0 < p.sample <= 1:
        raise SCTError(f"-param sample must be in (0, 1], got {p.sample}")
    if not p.search > 0:
        raise SCTError(f"-param search must be > 0 (mm), got {p.search}")
    return p
