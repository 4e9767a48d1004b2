"""The course's single-subject layout built from sct_testing_data, and a runner for its lines.

A course line is run as a user types it: the shell's expansions that matter (``~``,
``${SCT_DIR}``, quotes) are applied, the words are split with ``shlex`` and the command's
``main(argv)`` is called in-process, in the line's folder. A line whose command module does not
exist yet is skipped (it runs as soon as the command is merged); every other outcome is checked.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shlex
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

# course file -> sct_testing_data file.  Folders are the course's (t2/, t2s/, mt/, ...).
# t2_compressed and t2_lumbar are not in sct_testing_data: the t2 image stands in for both.
LAYOUT = {
    "t2/t2.nii.gz": "t2/t2.nii.gz",
    "t2_compressed/t2_compressed.nii.gz": "t2/t2.nii.gz",
    "t2_lumbar/t2_lumbar.nii.gz": "t2/t2.nii.gz",
    "t2s/t2s.nii.gz": "t2s/t2s.nii.gz",
    "mt/mt1.nii.gz": "mt/mt1.nii.gz",
    "mt/mt0.nii.gz": "mt/mt0.nii.gz",
    "dmri/dmri.nii.gz": "dmri/dmri.nii.gz",
    "dmri/bvecs.txt": "dmri/bvecs.txt",
    "dmri/bvals.txt": "dmri/bvals.txt",
    "fmri/fmri.nii.gz": "fmri/fmri.nii.gz",
    "t1/t1.nii.gz": "t1/t1w.nii.gz",
}

# Assets the commands locate through the downloader; linked into $SCT_DIR/data like an install.
LINKED_ASSETS = ("PAM50", "PAM50_normalized_metrics", "deepseg_gm_models", "deepseg_sc_models",
                 "deepseg_lesion_models")


def command_exists(name: str) -> bool:
    return importlib.util.find_spec(f"spinalcordtoolbox.scripts.{name}") is not None


def shell_words(line: str) -> list[str]:
    """Split a line as bash would for these lines: ${VAR} and leading ~ expanded, quotes removed."""
    words = shlex.split(os.path.expandvars(line))
    return [os.path.expanduser(w) if w.startswith("~") else w for w in words]


class Course:
    """The course folder: one subject's data, $SCT_DIR with PAM50, $HOME for ~/qc_singleSubj."""

    def __init__(self, root: Path, testing_data: Path):
        self.root = Path(root)
        self.data = Path(testing_data)
        self.qc = self.root / "home" / "qc_singleSubj"
        self.qc_seen: dict[str, set] = {}

    def path(self, rel) -> Path:
        return self.root / rel

    def ref(self, rel) -> Path:
        """A file of sct_testing_data (manual segmentations, labels)."""
        return self.data / rel

    def build(self):
        from spinalcordtoolbox.download import find_data
        for dest, src in LAYOUT.items():
            target = self.path(dest)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.ref(src), target)
        (self.root / "home").mkdir(exist_ok=True)
        cache = self.root / "sct" / "data"
        cache.mkdir(parents=True)
        for name in LINKED_ASSETS:
            try:
                (cache / name).symlink_to(find_data(name), target_is_directory=True)
            except Exception:  # noqa: BLE001 - an asset that cannot be found is installed on demand
                pass
        return self

    def environment(self, mp: pytest.MonkeyPatch):
        from spinalcordtoolbox.download import MIRROR_ENV, SHARED_DATA
        mp.setenv("HOME", str(self.root / "home"))
        mp.setenv("SCT_DIR", str(self.root / "sct"))
        mp.setenv("SCT_DATA_DIR", str(self.root / "sct" / "data"))
        if not os.environ.get(MIRROR_ENV) and SHARED_DATA.is_dir():
            mp.setenv(MIRROR_ENV, str(SHARED_DATA))
        # sct_run_batch starts the user's shell script, which calls the sct_* wrappers of this
        # interpreter's environment on this checkout.
        mp.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        mp.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        mp.delenv("DISPLAY", raising=False)

    def run(self, line: str, folder: str, capfd) -> tuple[int, str, str]:
        """Run one line in ``folder``; returns (exit code, stdout, stderr)."""
        argv = shell_words(line)
        if not command_exists(argv[0]):
            pytest.skip(f"command not on this branch yet: {argv[0]}")
        main = importlib.import_module(f"spinalcordtoolbox.scripts.{argv[0]}").main
        cwd = self.path(folder)
        cwd.mkdir(parents=True, exist_ok=True)
        capfd.readouterr()
        with contextlib.chdir(cwd):
            try:
                main(argv[1:])
                code = 0
            except SystemExit as e:
                code = 0 if e.code is None else (e.code if isinstance(e.code, int) else 1)
        out, err = capfd.readouterr()
        return code, out, err


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def load(path) -> np.ndarray:
    import nibabel as nib
    return np.asanyarray(nib.load(str(path)).dataobj)


def disc_labels_from_levels(labeled_seg, out):
    """Point disc labels (3 = C2-C3 ...) at the cord centre where level n meets n+1 along S.

    The image is the t2 of sct_testing_data (axes P, S, R); each disc is put on the top slice of
    the level below it, as a totalspineseg step-1 disc label would be.
    """
    import nibabel as nib
    img = nib.load(str(labeled_seg))
    levels = np.asanyarray(img.dataobj).round().astype(int)
    assert nib.aff2axcodes(img.affine)[1] == "S"
    labels = np.zeros(levels.shape, np.uint8)
    for lower in np.unique(levels[levels > 0])[1:]:
        ys = np.nonzero((levels == lower).any(axis=(0, 2)))[0]
        y = ys.max()
        xs, zs = np.nonzero(levels[:, y, :] > 0)
        labels[int(round(xs.mean())), y, int(round(zs.mean()))] = lower
    nib.save(nib.Nifti1Image(labels, img.affine, img.header), str(out))
