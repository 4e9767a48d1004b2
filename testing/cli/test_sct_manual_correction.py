"""sct_manual_correction: QC failures -> derivatives/labels/…_seg-manual.nii.gz + JSON sidecar.

The viewer is a stand-in executable on PATH named fsleyes/itksnap that records its arguments and
edits the file as a user would (sets one voxel), so the whole loop runs without a display."""
import json
import os
import stat
import sys

import nibabel as nib
import numpy as np
import pytest

from spinalcordtoolbox.scripts.sct_manual_correction import main

FAKE_VIEWER = """#!{python}
import sys, json, nibabel as nib, numpy as np
open({log!r}, "a").write(json.dumps(sys.argv[1:]) + "\\n")
seg = sys.argv[2] if sys.argv[1] != "-g" else sys.argv[4]
img = nib.load(seg)
data = np.asarray(img.dataobj).copy()
data[0, 0, 0] = 1
nib.save(nib.Nifti1Image(data, img.affine, img.header), seg)
"""


@pytest.fixture
def processed(tmp_path, sct_testing_data):
    """data_processed as sct_run_batch leaves it: images and their automatic segmentations."""
    root = tmp_path / "output/data_processed"
    for sub in ("sub-01", "sub-02"):
        anat = root / sub / "anat"
        anat.mkdir(parents=True)
        (anat / f"{sub}_T2w.nii.gz").write_bytes((sct_testing_data / "t2/t2.nii.gz").read_bytes())
        (anat / f"{sub}_T2w_seg.nii.gz").write_bytes((sct_testing_data / "t2/t2_seg-manual.nii.gz").read_bytes())
    anat = root / "sub-02/anat"
    (anat / "sub-02_T2star.nii.gz").write_bytes((sct_testing_data / "t2s/t2s.nii.gz").read_bytes())
    (anat / "sub-02_T2star_gmseg.nii.gz").write_bytes((sct_testing_data / "t2s/t2s_gmseg_manual.nii.gz").read_bytes())
    return root


def _viewer(tmp_path, monkeypatch, name="fsleyes"):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "viewer_calls.jsonl"
    exe = bindir / name
    exe.write_text(FAKE_VIEWER.format(python=sys.executable, log=str(log)))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    return log


def _qc_fail_yml(path, entries):
    # the format written by the QC page's "Save Fails" (data/qc/qc.js)
    lines = ["# Spinal Cord Toolbox QC: entries rated 'fail' (files needing manual correction)",
             "# report: /x/qc/index.html", "# saved: 2026-11-30T12:00:00.000Z"]
    for e in entries:
        lines += [f"- dataset: {json.dumps('data_processed')}"]
        lines += [f"  {k}: {json.dumps(str(e[k]))}" for k in ("subject", "contrast", "process", "file", "image", "id")]
    path.write_text("\n".join(lines) + "\n")


def test_qc_fail_yml_fsleyes(tmp_path, monkeypatch, processed):
    log = _viewer(tmp_path, monkeypatch)
    anat1, anat2 = processed / "sub-01/anat", processed / "sub-02/anat"
    _qc_fail_yml(tmp_path / "qc_fail.yml", [
        {"subject": "sub-01", "contrast": "anat", "process": "sct_propseg", "file": anat1 / "sub-01_T2w_seg.nii.gz",
         "image": anat1 / "sub-01_T2w.nii.gz", "id": "data_processed/sub-01/anat/sct_propseg/1"},
        {"subject": "sub-02", "contrast": "anat", "process": "sct_deepseg_gm",
         "file": anat2 / "sub-02_T2star_gmseg.nii.gz", "image": anat2 / "sub-02_T2star.nii.gz", "id": "2"},
        # a registration entry: nothing to correct by hand (skipped with a message)
        {"subject": "sub-02", "contrast": "anat", "process": "sct_register_multimodal",
         "file": anat2 / "sub-02_T2w.nii.gz", "image": anat2 / "sub-02_T2w.nii.gz", "id": "3"},
    ])
    labels = tmp_path / "data/derivatives/labels"
    assert main(["-config", str(tmp_path / "qc_fail.yml"), "-path-img", str(processed), "-path-label", str(labels),
                 "-author", "Jane Doe"]) == 0
    out1 = labels / "sub-01/anat/sub-01_T2w_seg-manual.nii.gz"
    out2 = labels / "sub-02/anat/sub-02_T2star_gmseg-manual.nii.gz"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls == [[str(anat1 / "sub-01_T2w.nii.gz"), str(out1), "-cm", "red", "-a", "70"],
                     [str(anat2 / "sub-02_T2star.nii.gz"), str(out2), "-cm", "red", "-a", "70"]]
    auto = nib.load(anat1 / "sub-01_T2w_seg.nii.gz")
    manual = nib.load(out1)
    diff = np.argwhere(np.asarray(manual.dataobj) != np.asarray(auto.dataobj))
    assert diff.tolist() == [[0, 0, 0]] and np.allclose(manual.affine, auto.affine)  # only the user's edit
    side = json.loads((labels / "sub-01/anat/sub-01_T2w_seg-manual.json").read_text())
    assert side["Author"] == "Jane Doe" and side["Date"][:4].isdigit()
    assert side["GeneratedBy"][0]["Source"] == str(anat1 / "sub-01_T2w_seg.nii.gz")
    assert not list(labels.rglob("*T2w-manual*"))


def test_established_config_itksnap_and_no_viewer(tmp_path, monkeypatch, processed, capsys):
    cfg = tmp_path / "qc_fail.yml"
    cfg.write_text("FILES_SEG:\n- sub-02_T2w.nii.gz\n")
    labels = tmp_path / "labels"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(SystemExit) as e:
        main(["-config", str(cfg), "-path-img", str(processed), "-path-label", str(labels)])
    assert e.value.code == 1 and "No image viewer found" in capsys.readouterr().err
    assert not labels.exists()
    log = _viewer(tmp_path, monkeypatch, "itksnap")
    assert main(["-config", str(cfg), "-path-img", str(processed), "-path-label", str(labels)]) == 0
    out = labels / "sub-02/anat/sub-02_T2w_seg-manual.nii.gz"
    img = str(processed / "sub-02/anat/sub-02_T2w.nii.gz")
    assert json.loads(log.read_text()) == ["-g", img, "-s", str(out)]
    assert (labels / "sub-02/anat/sub-02_T2w_seg-manual.json").is_file()
    # a second pass reopens the manual file instead of overwriting it with the automatic one
    assert main(["-config", str(cfg), "-path-img", str(processed), "-path-label", str(labels),
                 "-viewer", "none"]) == 0
    assert np.asarray(nib.load(out).dataobj)[0, 0, 0] == 1
