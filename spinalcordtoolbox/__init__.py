"""Spinal Cord Toolbox: processing and analysis of spinal cord MRI data.

Importing the package is cheap on purpose: heavy libraries (torch, antspyx, dipy,
matplotlib) are imported inside the functions that need them.
"""
from pathlib import Path

__version__ = "0.1.0"

#: Root of the source checkout / installation (holds ``data/`` with the asset registry).
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
