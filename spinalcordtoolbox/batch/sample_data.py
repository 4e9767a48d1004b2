"""A small BIDS dataset built from sct_testing_data, laid out like the course's ``data/`` folder.

Every subject gets the test subject's T2w, T2* and MT images under BIDS names, and its manual
vertebral labels under ``derivatives/labels`` (where sct_run_batch's PATH_SEGMANUAL points). A
subject listed in ``broken`` gets a truncated T2w file, as a failed transfer would leave it, so
batch tests and demos have a subject that fails for a real reason.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

#: BIDS name suffix -> file in sct_testing_data
ANAT_FILES = {
    "T2w": "t2/t2.nii.gz",
    "T2star": "t2s/t2s.nii.gz",
    "acq-MTon_MTS": "mt/mt1.nii.gz",
    "acq-MToff_MTS": "mt/mt0.nii.gz",
}
#: derivatives/labels suffix -> file in sct_testing_data (labels 3 and 5: C3 and C5 vertebrae)
LABEL_FILES = {"T2w_labels-manual": "t2/labels.nii.gz"}


def _write_json(path, data):
    Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def make_sample_dataset(dest, n_subjects=3, source=None, broken=(), with_labels=True) -> Path:
    """Write the dataset into ``dest`` (created; must not hold a dataset already); returns it."""
    if source is None:
        from spinalcordtoolbox.download import find_data
        source = find_data("sct_testing_data")
    source, dest = Path(source), Path(dest)
    if (dest / "dataset_description.json").exists():
        raise FileExistsError(f"{dest} already holds a dataset")
    subjects = [f"sub-{i:02d}" for i in range(1, n_subjects + 1)]
    unknown = set(broken) - set(subjects)
    if unknown:
        raise ValueError(f"broken subjects not in the dataset: {sorted(unknown)}")
    dest.mkdir(parents=True, exist_ok=True)
    _write_json(dest / "dataset_description.json",
                {"Name": "Spinal Cord Toolbox sample dataset (from sct_testing_data)",
                 "BIDSVersion": "1.9.0", "DatasetType": "raw"})
    (dest / "participants.tsv").write_text(
        "participant_id\n" + "".join(f"{s}\n" for s in subjects), encoding="utf-8")
    for sub in subjects:
        anat = dest / sub / "anat"
        anat.mkdir(parents=True, exist_ok=True)
        for suffix, rel in ANAT_FILES.items():
            target = anat / f"{sub}_{suffix}.nii.gz"
            if sub in broken and suffix == "T2w":
                target.write_bytes((source / rel).read_bytes()[:2000])
            else:
                shutil.copyfile(source / rel, target)
        if with_labels:
            labels = dest / "derivatives" / "labels" / sub / "anat"
            labels.mkdir(parents=True, exist_ok=True)
            for suffix, rel in LABEL_FILES.items():
                shutil.copyfile(source / rel, labels / f"{sub}_{suffix}.nii.gz")
                _write_json(labels / f"{sub}_{suffix}.json",
                            {"Author": "sct_testing_data", "Date": "from sct_testing_data t2/labels.nii.gz"})
    if with_labels:
        _write_json(dest / "derivatives" / "labels" / "dataset_description.json",
                    {"Name": "Manual labels", "BIDSVersion": "1.9.0", "DatasetType": "derivative"})
    return dest
