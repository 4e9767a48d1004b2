"""The multi-step ``-param`` language of the registration commands.

``step=1,type=seg,algo=centermass:step=2,type=im,algo=syn,metric=CC,iter=5``: steps separated
by ``:``, each a list of ``key=value``. Every key and enumerated value is validated, with a
"did you mean" error listing the allowed values. Defaults are those of the established toolbox.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from spinalcordtoolbox.utils.cli import SCTError, choice_error

TYPES = ("im", "seg", "imseg", "label")
ALGOS = ("translation", "rigid", "affine", "syn", "bsplinesyn", "slicereg", "centermass",
         "centermassrot", "columnwise")
METRICS = ("CC", "MI", "MeanSquares")
ROT_METHODS = ("pca", "hog", "pcahog")
#: Algorithms estimated slice by slice from segmentations (they need type=seg or imseg)
SEG_ONLY_ALGOS = ("centermass", "centermassrot", "columnwise")


@dataclass
class ParamStep:
    """One registration step (values as in the established toolbox's defaults)."""
    step: int = 1
    type: str = "im"
    algo: str = "syn"
    metric: str = "MeanSquares"
    iter: int = 10
    shrink: int = 1
    smooth: float = 0.0
    laplacian: float = 0.0
    gradStep: float = 0.5
    deformation: str = "1x1x0"
    init: str = ""
    poly: int = 5
    filter_size: int = 5
    smoothWarpXY: float = 2.0
    pca_eigenratio_th: float = 1.6
    rot_method: str = "pca"
    slicewise: int = 0
    dof: str = "Tx_Ty_Tz_Rx_Ry_Rz"

    def as_string(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


_KEYS = {f.name: f for f in fields(ParamStep)}
_ENUMS = {"type": TYPES, "algo": ALGOS, "metric": METRICS, "rot_method": ROT_METHODS,
          "slicewise": (0, 1)}

DEFAULT_MULTIMODAL = "step=1,type=im,algo=syn,metric=MeanSquares,iter=10,shrink=1,smooth=0,gradStep=0.5"


def _convert(key, text):
    kind = _KEYS[key].type
    try:
        if kind == "int":
            return int(float(text)) if float(text).is_integer() else int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise SCTError(f"-param: '{key}' must be a number, got '{text}'") from None
    return text


def parse_param(text: str, defaults: list[ParamStep] | None = None) -> list[ParamStep]:
    """Parse a ``-param`` string into steps sorted by step number.

    ``defaults`` (e.g. a command's own default steps) are updated by the steps the user gives
    (same step number) or extended with new ones.
    """
    steps = {s.step: replace(s) for s in (defaults or [])}
    if text is None or not str(text).strip():
        if not steps:
            raise SCTError("-param is empty")
        return [steps[k] for k in sorted(steps)]
    for chunk in str(text).split(":"):
        chunk = chunk.strip()
        if not chunk:
            continue
        values = {}
        for item in chunk.split(","):
            item = item.strip()
            if not item:
                continue
            if "=" not in item:
                raise SCTError(f"-param: '{item}' is not of the form key=value (in '{chunk}')")
            key, value = (s.strip() for s in item.split("=", 1))
            if key not in _KEYS:
                raise choice_error("-param key", key, list(_KEYS))
            values[key] = _convert(key, value)
        if "step" not in values:
            raise SCTError(f"-param: every step must start with step=<number> (in '{chunk}')")
        number = values["step"]
        step = steps.get(number, ParamStep(step=number))
        steps[number] = replace(step, **values)
    result = [steps[k] for k in sorted(steps)]
    for s in result:
        validate_step(s)
    return result


def validate_step(s: ParamStep):
    """Raise a one-line error naming the first invalid value of a step."""
    for key, allowed in _ENUMS.items():
        if getattr(s, key) not in allowed:
            raise choice_error(f"{key} in -param step {s.step}", getattr(s, key), allowed)
    if s.algo == "centermassrot" and s.rot_method in ("hog", "pcahog") and s.type != "imseg":
        raise SCTError(f"-param step {s.step}: rot_method={s.rot_method} reads the images' "
                       f"gradients: use type=imseg (with -iseg and -dseg), not type={s.type}")
    if s.algo in SEG_ONLY_ALGOS and s.type not in ("seg", "imseg"):
        raise SCTError(f"-param step {s.step}: algo={s.algo} works on segmentations: use "
                       f"type=seg (or imseg), not type={s.type}")
    if s.step < 0:
        raise SCTError(f"-param: step number must be >= 0, got {s.step}")
    parts = s.deformation.split("x")
    if len(parts) != 3 or any(p not in ("0", "1") for p in parts):
        raise SCTError(f"-param step {s.step}: deformation must look like 1x1x0, got '{s.deformation}'")
    if s.iter < 0 or s.shrink < 1 or s.poly < 0:
        raise SCTError(f"-param step {s.step}: iter >= 0, shrink >= 1 and poly >= 0 required")
    if s.gradStep <= 0:
        raise SCTError(f"-param step {s.step}: gradStep must be > 0, got {s.gradStep}")
