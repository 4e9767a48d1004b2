"""Run TotalSpineSeg (discs, vertebrae, cord and canal) with weights installed by the toolbox.

TotalSpineSeg is two nnU-Net models and an iterative labelling algorithm. Its two-step pipeline
(resampling to 1 mm, step 1 network, disc labelling, cord/canal soft masks, disc point labels,
step 2 network on the crop, vertebrae labelling, resampling back) lives in the PyPI package
``totalspineseg``; this module calls the package's ``inference`` function as a library, on
weights installed by the toolbox's one downloader (:mod:`spinalcordtoolbox.deepseg.install`, so
``$SCT_DATA_MIRROR``, the cache and the offline error are those of every other task), and turns
its output folders into images on the input's grid. The package's own weight download is never
used: it is given a data folder that links to our installed release.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from spinalcordtoolbox.image import Image, empty_like

logger = logging.getLogger(__name__)

#: nnU-Net dataset names the package looks for under ``<data>/nnUNet/results``
DATASETS = {"step1": "Dataset101_TotalSpineSeg_step1", "step2": "Dataset102_TotalSpineSeg_step2"}

#: package output folder -> (our suffix, soft map?)
STEP1_FOLDERS = {"step1_levels": False, "step1_cord": True, "step1_canal": True, "step1_output": False}
STEP2_FOLDERS = {"step2_output": False}


def folders_for(step1_only=False) -> list[str]:
    """The package's output folders a run keeps (step 2 skipped with ``step1_only``)."""
    return list(STEP1_FOLDERS) + ([] if step1_only else list(STEP2_FOLDERS))


def _dataset_folder(part_dir: Path) -> Path:
    """The folder holding ``<trainer>__<plans>__<config>/`` in an installed part (the release
    zip's top folder is removed by the downloader; a zip without one keeps it)."""
    from spinalcordtoolbox.deepseg.inference import find_nnunet_folders
    folders = find_nnunet_folders(part_dir)
    if len(folders) != 1:
        raise ValueError(f"Expected one nnU-Net model in {part_dir}, found {len(folders)}")
    return folders[0].parent


def _link_data_folder(model_dir: Path, work: Path) -> Path:
    """A data folder in the package's layout whose datasets point to the installed parts."""
    results = work / "data" / "nnUNet" / "results"
    results.mkdir(parents=True)
    for part, dataset in DATASETS.items():
        source = _dataset_folder(Path(model_dir) / part)
        try:
            os.symlink(source, results / dataset, target_is_directory=True)
        except OSError:  # no symlinks (some Windows setups): copy
            import shutil
            shutil.copytree(source, results / dataset)
    return work / "data"


_RUNNER = """
import json, multiprocessing, sys
import torch
kwargs, threads = json.loads(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
if __name__ == "__main__":
    multiprocessing.set_start_method("forkserver", force=True)
    multiprocessing.set_forkserver_preload(["totalspineseg.inference"])
    from pathlib import Path
    from totalspineseg.inference import inference
    kwargs.update({k: Path(v) for k, v in kwargs.items() if k.endswith("_path")})
    kwargs["device"] = torch.device(kwargs["device"])
    inference(**kwargs)
"""


def _run_package(kwargs: dict, threads: int):
    """Run the totalspineseg package's ``inference(**kwargs)`` in a fresh Python process."""
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(kwargs), str(threads)],
                          stdout=None if not kwargs.get("quiet") else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise ValueError(f"TotalSpineSeg failed: {lines[-1] if lines else f'exit code {proc.returncode}'}")


def run_totalspineseg(im: Image, model_dir, *, step1_only=False, device="auto", verbose=False,
                      workers=1) -> dict:
    """Segment ``im`` with TotalSpineSeg; return {package folder name: Image on ``im``'s grid}.

    ``model_dir``: the installed ``totalspineseg`` model (parts ``step1/``, ``step2/``).
    Outputs: ``step1_levels`` (one voxel per disc at its posterior tip, 3 = C2-C3, 4 = C3-C4 ...,
    1/2 = top of C1 / C1-C2 when visible), ``step1_cord`` and ``step1_canal`` (soft masks 0-1),
    ``step1_output`` (step 1 labels: 1 cord, 2 canal, 63-100 discs ...) and, unless
    ``step1_only``, ``step2_output`` (vertebrae 11-50, discs 63-100, cord 1, canal 2).
    Raises ValueError when step 1 finds no spine.
    """
    import torch

    from spinalcordtoolbox.deepseg.inference import _ensure_nnunet_env, resolve_device

    _ensure_nnunet_env()
    dev = resolve_device(device)
    keep = folders_for(step1_only)
    threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="sct_totalspineseg_") as tmp:
        work = Path(tmp)
        data = _link_data_folder(Path(model_dir), work)
        # the package names outputs after the input file; it reorients and resamples itself
        src = work / "image.nii.gz"
        im.copy().save(os.fspath(src), verbose=False)
        # the package's steps run in process pools: forked from a process where torch has run they
        # can hang, and a fork server shares badly with multiprocessing objects this process may
        # already hold (dask, pools): the package runs in a fresh interpreter of its own
        _run_package(dict(input_path=os.fspath(src), output_path=os.fspath(work / "out"),
                          data_path=os.fspath(data), default_release="installed", device=str(dev),
                          step1_only=step1_only, keep_only=list(keep), max_workers=workers,
                          max_workers_nnunet=workers, quiet=not verbose), threads)
        outputs = {}
        for folder in keep:
            path = work / "out" / folder / "image.nii.gz"
            if not path.is_file():
                raise ValueError(f"TotalSpineSeg wrote no {folder} output: the model found no "
                                 f"spine in the image")
            out = Image(os.fspath(path)).change_orientation(im.orientation)
            if out.data.shape[:3] != im.data.shape[:3]:
                raise ValueError(f"TotalSpineSeg's {folder} is not on the input's grid "
                                 f"({out.data.shape} vs {im.data.shape})")
            soft = {**STEP1_FOLDERS, **STEP2_FOLDERS}[folder]
            data_out = (np.clip(out.data, 0, 1).astype(np.float32) if soft
                        else np.rint(out.data).astype(np.uint8))
            outputs[folder] = empty_like(im, data_out)
    return outputs
