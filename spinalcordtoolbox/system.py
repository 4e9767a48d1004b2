"""Installation report: Python, required packages, compute device, installed data and models."""
from __future__ import annotations

import importlib.metadata
import platform
import sys
from pathlib import Path

#: import name -> distribution name, for the packages the toolbox needs
REQUIRED_PACKAGES = {
    "numpy": "numpy", "scipy": "scipy", "nibabel": "nibabel", "skimage": "scikit-image",
    "pandas": "pandas", "matplotlib": "matplotlib", "tqdm": "tqdm", "requests": "requests",
    "filelock": "filelock", "h5py": "h5py", "openpyxl": "openpyxl", "yaml": "pyyaml",
    "dipy": "dipy", "ants": "antspyx", "torch": "torch", "nnunetv2": "nnunetv2",
}


def _cuda_device() -> str | None:
    """Name of an NVIDIA GPU seen by the driver, without importing torch (slow to import)."""
    import glob
    import os

    gpus = sorted(glob.glob("/proc/driver/nvidia/gpus/*/information"))
    if not gpus:
        return None
    try:
        with open(gpus[0], encoding="utf-8") as f:
            for line in f:
                if line.startswith("Model:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return os.path.basename(os.path.dirname(gpus[0]))


def check_dependencies():
    """Return (report lines, all_required_ok).

    Fast (well under 2 s): packages are found and their versions read from their metadata,
    without importing them (torch alone takes seconds to import).
    """
    import importlib.util
    import os

    from spinalcordtoolbox import __version__, download

    lines = [f"SCT version: {__version__}",
             f"Python: {sys.version.split()[0]} ({platform.platform()})",
             f"SCT_DIR: {os.environ.get('SCT_DIR') or '(not set)'} (toolbox folder: {download.sct_dir()})"]
    ok = True
    for module, dist in REQUIRED_PACKAGES.items():
        try:
            if importlib.util.find_spec(module) is None:
                raise ImportError(f"No module named '{module}'")
            version = importlib.metadata.version(dist)
            lines.append(f"[OK]   {dist} {version}")
        except Exception as e:
            ok = False
            lines.append(f"[FAIL] {dist}: {e.__class__.__name__}: {e}")
    gpu = _cuda_device()
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines.append(f"[OK]   compute device: CUDA ({gpu})" if gpu else
                 f"[OK]   compute device: CPU ({threads} cores; no CUDA GPU)")
    lines.append(f"Data folder: {download.cache_dir()}")
    mirrors = download.mirror_folders()
    if mirrors:
        lines.append(f"Data mirror ({download.MIRROR_ENV}): {os.pathsep.join(map(str, mirrors))}")
    if download.SHARED_DATA.is_dir():
        lines.append(f"Shared data beside the checkout: {download.SHARED_DATA}")
    for name in sorted(download.registry()):
        if download.is_installed(name):
            lines.append(f"[OK]   {name}: installed")
            continue
        source = download.available_source(name)
        if source is not None and any(Path(source).is_relative_to(m) for m in mirrors):
            lines.append(f"[OK]   {name}: available from the mirror {source} (installed on first use)")
        elif source is not None:
            lines.append(f"[OK]   {name}: present in {source} (used by the tests and the example; "
                         f"set {download.MIRROR_ENV}={download.SHARED_DATA} to install from it)")
        else:
            lines.append(f"[INFO] {name}: not installed (downloaded on demand)")
    return lines, ok
