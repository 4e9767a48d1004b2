"""Batch library: subject discovery, config files, provenance, SLURM job script, sample dataset."""
import argparse
import subprocess

import nibabel as nib
import numpy as np
import pytest

from spinalcordtoolbox.batch import config, discovery, provenance
from spinalcordtoolbox.batch.sample_data import ANAT_FILES, make_sample_dataset
from spinalcordtoolbox.utils.cli import SCTError


@pytest.fixture
def bids(tmp_path):
    for d in ("sub-01/anat", "sub-02/ses-01/anat", "sub-02/ses-02/anat", "sub-10/anat", "derivatives/labels",
              "code"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "sub-99.txt").write_text("not a folder")
    return tmp_path


def test_find_subjects_with_sessions(bids):
    assert discovery.find_subjects(bids) == ["sub-01", "sub-02/ses-01", "sub-02/ses-02", "sub-10"]
    assert discovery.find_subjects(bids, ignore_ses=True) == ["sub-01", "sub-02", "sub-10"]
    assert discovery.find_subjects(bids, subject_prefix="sub-1") == ["sub-10"]
    with pytest.raises(SCTError, match="not found"):
        discovery.find_subjects(bids / "nope")


def test_filter_subjects(bids):
    subs = discovery.find_subjects(bids)
    assert discovery.filter_subjects(subs, include="ses-02") == ["sub-02/ses-02"]
    assert discovery.filter_subjects(subs, exclude="sub-0") == ["sub-10"]
    assert discovery.filter_subjects(subs, include_list=["sub-02"]) == ["sub-02/ses-01", "sub-02/ses-02"]
    assert discovery.filter_subjects(subs, include_list=["sub-02/ses-01", "sub-10"]) == ["sub-02/ses-01", "sub-10"]
    assert discovery.filter_subjects(subs, exclude_list=["sub-01", "sub-02/ses-02"]) == ["sub-02/ses-01", "sub-10"]
    with pytest.raises(SCTError, match="either"):
        discovery.filter_subjects(subs, include="a", include_list=["b"])
    with pytest.raises(SCTError, match="invalid regular expression"):
        discovery.filter_subjects(subs, exclude="sub-(")


def _parser():
    p = argparse.ArgumentParser()
    p.add_argument("-config")
    p.add_argument("-path-data")
    p.add_argument("-jobs", type=int)
    p.add_argument("-include-list", nargs="+")
    p.add_argument("-zip", action="store_true", default=None)
    p.add_argument("-backend", choices=["local", "dask"])
    return p


def test_config_course_syntax_and_precedence(tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("# course config\npath_data: data\njobs: 3\ninclude-list: [sub-01, sub-03]\nzip: true\n")
    p = _parser()
    args = config.resolve_options(p, p.parse_args(["-config", str(cfg), "-jobs", "2"]))
    assert (args.path_data, args.jobs, args.include_list, args.zip) == ("data", 2, ["sub-01", "sub-03"], True)
    assert args.backend == "local"  # built-in default applied last
    js = tmp_path / "config.json"
    js.write_text('{"-path-data": "d", "jobs": "4", "include_list": "sub-01 sub-02"}')
    args = config.resolve_options(p, p.parse_args(["-config", str(js)]))
    assert (args.path_data, args.jobs, args.include_list) == ("d", 4, ["sub-01", "sub-02"])


@pytest.mark.parametrize("text,match", [("path_dta: x\n", "Did you mean 'path_data'"),
                                        ("backend: slurmm\n", "not one of"),
                                        ("- a\n- b\n", "key: value"),
                                        ("jobs: [1, 2\n", "Cannot read")])
def test_config_errors(tmp_path, text, match):
    cfg = tmp_path / "c.yml"
    cfg.write_text(text)
    p = _parser()
    with pytest.raises(SCTError, match=match):
        config.resolve_options(p, p.parse_args(["-config", str(cfg)]))


def test_provenance_git_commit_and_unknown(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    script = repo / "process.sh"
    script.write_text("echo hi\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["remote", "add", "origin", "https://example.org/lab/analysis.git"], check=True)
    subprocess.run(git + ["add", "process.sh"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    info = provenance.git_info(script)
    assert info["commit"] == head and info["origin"] == "https://example.org/lab/analysis.git"
    script.write_text("echo changed\n")
    assert provenance.git_info(script)["commit"] == head + "-dirty"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert provenance.git_info(plain) == {"commit": "?!?", "origin": "?!?", "root": "?!?"}
    block = provenance.provenance_block(script, plain, "sct_run_batch -script process.sh")
    assert f"git commit: {head}-dirty" in block and "git commit: ?!?" in block
    assert "sct_run_batch -script process.sh" in block and "RAM:" in block and "CPU:" in block


def test_slurm_job_script():
    from spinalcordtoolbox.batch.backends import slurm_cluster
    cluster = slurm_cluster(cores=4, memory="8GB", walltime="02:00:00", queue="cpu", account="def-lab",
                            job_extra=["--qos=high"])
    try:
        text = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p cpu", "#SBATCH -A def-lab", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=8G",
                 "#SBATCH -t 02:00:00", "#SBATCH --qos=high"):
        assert line in text.splitlines()
    assert "--resources subject=1" in text  # one subject at a time per SLURM job


def test_sample_dataset(tmp_path, sct_testing_data):
    root = make_sample_dataset(tmp_path / "data", 2, source=sct_testing_data, broken=["sub-02"])
    assert discovery.find_subjects(root) == ["sub-01", "sub-02"]
    for suffix, rel in ANAT_FILES.items():
        a = nib.load(root / "sub-01" / "anat" / f"sub-01_{suffix}.nii.gz")
        b = nib.load(sct_testing_data / rel)
        assert np.array_equal(a.get_fdata(), b.get_fdata()) and np.allclose(a.affine, b.affine)
    labels = root / "derivatives/labels/sub-02/anat/sub-02_T2w_labels-manual.nii.gz"
    assert sorted(np.unique(nib.load(labels).get_fdata()))[1:] == [3, 5]
    with pytest.raises(EOFError):
        nib.load(root / "sub-02/anat/sub-02_T2w.nii.gz").get_fdata()
    with pytest.raises(FileExistsError):
        make_sample_dataset(root, 1, source=sct_testing_data)
