"""Installation report: Python, required packages, compute device, installed data and models."""
from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys

#: import name -> distribution name, for the packages the toolbox needs
REQUIRED_PACKAGES = {
    "numpy": "numpy", "scipy": "scipy", "nibabel": "nibabel", "skimage": "scikit-image",
    "pandas": "pandas", "matplotlib": "matplotlib", "tqdm": "tqdm", "requests": "requests",
    "filelock": "filelock", "h5py": "h5py", "openpyxl": "openpyxl", "yaml": "pyyaml",
    "dipy": "dipy", "ants": "antspyx", "torch": "torch", "nnunetv2": "nnunetv2",
}


def check_dependencies():
    """Return (report lines, all_required_ok)."""
    from spinalcordtoolbox import __version__, download

    lines = [f"SCT version: {__version__}",
             f"Python: {sys.version.split()[0]} ({platform.platform()})"]
    ok = True
    for module, dist in REQUIRED_PACKAGES.items():
        try:
            importlib.import_module(module)
            version = importlib.metadata.version(dist)
            lines.append(f"[OK]   {dist} {version}")
        except Exception as e:
            ok = False
            lines.append(f"[FAIL] {dist}: {e.__class__.__name__}: {e}")
    try:
        import torch
        if torch.cuda.is_available():
            lines.append(f"[OK]   compute device: CUDA ({torch.cuda.get_device_name(0)})")
        else:
            lines.append(f"[OK]   compute device: CPU ({torch.get_num_threads()} threads; no CUDA GPU)")
    except Exception:
        pass
    lines.append(f"Data cache: {download.cache_dir()}")
    for name in sorted(download.registry()):
        state = "installed" if download.is_installed(name) else "not installed (downloaded on demand)"
        lines.append(f"[OK]   {name}: {state}" if download.is_installed(name) else f"[INFO] {name}: {state}")
    return lines, ok
