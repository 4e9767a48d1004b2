"""Bad-input corpus over every command, generated from sct_testing_data during the test run.

Each command gets a valid base call; the corpus mutates it: each input file in turn replaced
by a corrupt gzip stream (CRC failure in the middle), a truncated file, a text file named
.nii.gz, a missing path; a near-miss flag; the output set to an input; a read-only output
folder. Every case must end with exactly one line on stderr (no traceback), a non-zero exit
code, no output left behind, and the inputs untouched. Commands run in-process (``main``)
so that the whole corpus takes seconds.
"""
import gzip
import hashlib
import importlib
import os
import stat
from pathlib import Path

import pytest

#: command -> valid base call; {name} are input files of the corpus folder
BASE = {
    "sct_analyze_lesion": ["-m", "{lesion}", "-s", "{lesion_sc}"],
    "sct_apply_transfo": ["-i", "{t2}", "-d", "{t2}", "-w", "{warp}", "-o", "out.nii.gz"],
    "sct_compute_ascor": ["-i-SC", "{seg}", "-i-canal", "{seg}"],
    "sct_compute_compression": ["-i", "{seg}", "-l", "{labels}"],
    "sct_compute_hausdorff_distance": ["-i", "{seg}", "-d", "{seg}"],
    "sct_concat_transfo": ["-d", "{t2}", "-w", "{warp}"],
    "sct_convert": ["-i", "{t2}", "-o", "out.nii.gz"],
    "sct_create_mask": ["-i", "{t2}", "-p", "center"],
    "sct_crop_image": ["-i", "{t2}", "-zmin", "5"],
    "sct_deepseg": ["spinalcord", "-i", "{t2}"],
    "sct_deepseg_gm": ["-i", "{t2}"],
    "sct_deepseg_lesion": ["-i", "{t2}", "-c", "t2"],
    "sct_deepseg_sc": ["-i", "{t2}", "-c", "t2"],
    "sct_dice_coefficient": ["-i", "{seg}", "-d", "{seg}"],
    "sct_get_centerline": ["-i", "{t2}"],
    "sct_image": ["-i", "{t2}", "-setorient", "RPI", "-o", "out.nii.gz"],
    "sct_label_utils": ["-i", "{labels}", "-cubic-to-point"],
    "sct_maths": ["-i", "{t2}", "-add", "1", "-o", "out.nii.gz"],
    "sct_merge_images": ["-i", "{seg}", "-d", "{t2}"],
    "sct_process_segmentation": ["-i", "{seg}"],
    "sct_propseg": ["-i", "{t2}", "-c", "t2"],
    "sct_qc": ["-i", "{t2}", "-s", "{seg}", "-p", "sct_deepseg_sc", "-qc", "qc"],
    "sct_register_multimodal": ["-i", "{t2}", "-d", "{t2}"],
    "sct_register_to_template": ["-i", "{t2}", "-s", "{seg}", "-l", "{labels}"],
    "sct_resample": ["-i", "{t2}", "-mm", "2"],
    "sct_straighten_spinalcord": ["-i", "{t2}", "-s", "{seg}"],
    "sct_warp_template": ["-d", "{t2}", "-w", "{warp}"],
    # commands without input images: flags only
    "sct_check_dependencies": [],
    "sct_version": [],
    "sct_download_data": ["-l"],
}
FILES = {"t2": "t2/t2.nii.gz", "seg": "t2/t2_seg-manual.nii.gz", "labels": "t2/labels.nii.gz",
         "warp": "t2/warp_template2anat.nii.gz", "lesion": "t2/t2_fake_lesion_lesion_seg.nii.gz",
         "lesion_sc": "t2/t2_fake_lesion_sc_seg.nii.gz"}

#: inputs that get a NaN/Inf variant ({key}_nan)
NAN_KEYS = tuple(FILES) + ("dmri",)

#: specific refusals from the issue (numeric flags, conflicting flags, unknown values, NaN results)
SPECIFIC = [
    ("sct_create_mask", ["-i", "{t2}", "-size", "nan"], "-size must be a positive finite number"),
    ("sct_maths", ["-i", "{t2}", "-thr", "nan", "-o", "out.nii.gz"],
      "expected a finite number, got 'nan'"),
    ("sct_maths", ["-i", "{t2}", "-bin", "inf", "-o", "out.nii.gz"],
      "expected a finite number, got 'inf'"),
    ("sct_maths", ["-i", "{t2}", "-smooth", "nan", "-o", "out.nii.gz"], "expected a finite number"),
    ("sct_maths", ["-i", "{t2}", "-dilate", "-5", "-o", "out.nii.gz"], "expected an integer > 0"),
    ("sct_maths", ["-i", "{t2}", "-denoise", "foo", "-o", "out.nii.gz"],
      "Invalid -denoise value 'foo'"),
    ("sct_maths", ["-i", "{t2}", "-div", "0", "-o", "out.nii.gz"],
      "undefined (inf/nan) in every voxel"),
    ("sct_maths", ["-i", "{t2}", "-add", "{dmri}", "-o", "out.nii.gz"],
      "have different dimensions"),
    ("sct_maths", ["-i", "{t2}", "-add", "{t2_shifted}", "-o", "out.nii.gz"],
      "have different voxel grids"),
    ("sct_maths", ["-i", "{t2}", "-corr", "{zeros}", "-o", "out.txt"],
      "one of the images is constant"),
    ("sct_image", ["-i", "{t2}", "{t2_shifted}", "-concat", "t", "-o", "out.nii.gz"],
      "have different voxel grids"),
    ("sct_get_centerline", ["-i", "{t2}", "-centerline-smooth", "-5"], "expected a number >= 0"),
    ("sct_compute_compression", ["-i", "{seg}", "-l", "{labels}", "-distance", "-10"],
      "expected a number > 0"),
    ("sct_compute_compression", ["-i", "{seg}", "-l", "{labels}", "-extent", "0"],
      "expected a number > 0"),
    ("sct_label_utils", ["-i", "{t2}", "-create", "5,5,5,nan"], "finite non-zero number"),
    ("sct_label_utils", ["-i", "{t2}", "-create", "5,5,5,0"], "finite non-zero number"),
    ("sct_process_segmentation", ["-i", "{seg}", "-vertfile", "{seg}", "-discfile", "{labels}"],
      "-vertfile and -discfile cannot be used together"),
    ("sct_process_segmentation", ["-i", "{seg}", "-qc", "qc", "-qc-image", "{t2_2d}"],
      "must be 3-D"),
    ("sct_deepseg", ["spinalcord", "-i", "{t2}", "-thr", "2"], "expected a number in [0, 1]"),
    ("sct_dice_coefficient", ["-i", "{zeros}", "-d", "{zeros}"], "Dice coefficient is undefined"),
    ("sct_compute_mtr", ["-mt0", "{zeros}", "-mt1", "{t2}"], "is NaN/Inf in every voxel"),
    ("sct_straighten_spinalcord", ["-i", "{t2}", "-s", "{seg_far}"], "does not overlap"),
    ("sct_propseg", ["-i", "{t2}", "-c", "t2", "-init-mask", "{seg_far}"], "does not overlap"),
    ("sct_straighten_spinalcord", ["-i", "{t2}", "-s", "{seg}", "-o", "{t2}"],
      "Refusing to overwrite the input file"),
    ("sct_apply_transfo", ["-i", "{t2}", "-d", "{t2}", "-w", "{warp_nan}", "-o", "out.nii.gz"],
      "NaN or Inf displacements"),
    ("sct_apply_transfo", ["-i", "{t2}", "-d", "{t2}", "-w", "{dmri}", "-o", "out.nii.gz"],
     "not an ITK displacement field"),
    ("sct_process_segmentation", ["-i", "{seg}", "-qcc", "qc"], "did you mean `-qc`?"),
    ("sct_download_data", ["-d", "PAM50", "-o", "{t2}"], "is a file"),
]


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def corpus(sct_testing_data, tmp_path_factory):
    """Input folder: valid copies of the test files, and their corrupted variants."""
    import nibabel as nib
    import numpy as np

    root = tmp_path_factory.mktemp("bad_inputs")
    files = {}
    for key, rel in FILES.items():
        raw = (sct_testing_data / rel).read_bytes()
        files[key] = root / f"{key}.nii.gz"
        files[key].write_bytes(raw)
        # one bit flipped in the middle of the deflate stream: still decodes, CRC fails
        bad = bytearray(raw)
        bad[len(bad) // 2] ^= 0x01
        (root / f"{key}_corrupt.nii.gz").write_bytes(bytes(bad))
        (root / f"{key}_truncated.nii.gz").write_bytes(raw[: len(raw) // 2])
    (root / "text.nii.gz").write_text("not an image\n")
    t2 = nib.load(files["t2"])
    data = np.asanyarray(t2.dataobj)
    shifted = t2.affine.copy()
    shifted[:3, 3] += 7.0
    extra = {
        "t2_shifted": nib.Nifti1Image(data, shifted),
        "t2_2d": nib.Nifti1Image(data[:, :, 10], t2.affine),
        "zeros": nib.Nifti1Image(np.zeros(data.shape, np.uint8), t2.affine),
        "dmri": nib.load(sct_testing_data / "dmri/dmri.nii.gz"),
    }
    seg = nib.load(files["seg"])
    far = seg.affine.copy()
    far[:3, 3] += 5000.0  # 5 m away: does not overlap the image
    extra["seg_far"] = nib.Nifti1Image(np.asanyarray(seg.dataobj), far)
    warp = nib.load(files["warp"])
    field = np.asanyarray(warp.dataobj).astype(np.float32)
    field[0, 0, 0] = np.nan
    extra["warp_nan"] = nib.Nifti1Image(field, warp.affine, warp.header)
    for key, img in extra.items():
        files[key] = root / f"{key}.nii.gz"
        nib.save(img, files[key])
    for key in NAN_KEYS:  # float copies with one NaN and one Inf voxel
        img = nib.load(files[key])
        values = np.asanyarray(img.dataobj).astype(np.float32)
        middle, third = (tuple(n // k for n in values.shape[:3]) + (0,) * (values.ndim - 3) for k in (2, 3))
        values[middle] = np.nan  # inside every crop of the corpus
        values[third] = np.inf
        hdr = img.header.copy()
        hdr.set_data_dtype(np.float32)
        nib.save(nib.Nifti1Image(values, img.affine, hdr), root / f"{key}_nan.nii.gz")
    (root / "identity.txt").write_text("#Insight Transform File V1.0\n#Transform 0\nTransform: "
                                       "AffineTransform_double_3_3\nParameters: 1 0 0 0 1 0 0 0 1 0 0 0\n"
                                       "FixedParameters: 0 0 0\n")
    files["identity"] = root / "identity.txt"
    for p in root.iterdir():  # the corpus is read-only, like a user's raw data
        p.chmod(0o444)
    return root, {k: str(v) for k, v in files.items()}


def _cases():
    cases = []
    for cmd, base in BASE.items():
        cases.append((cmd, "near-miss flag", base + ["-qcc", "qc"]))
        placeholders = [a for a in base if a.startswith("{")]
        for ph in placeholders:
            key = ph.strip("{}")
            for kind in ("corrupt", "truncated"):
                cases.append((cmd, f"{kind} {key}", [f"{{{key}_{kind}}}" if a == ph else a for a in base]))
            cases.append((cmd, f"text {key}", ["{text}" if a == ph else a for a in base]))
            cases.append((cmd, f"missing {key}", ["missing.nii.gz" if a == ph else a for a in base]))
        if "-o" in base and placeholders:
            i = base.index("-o")
            cases.append((cmd, "output = input", base[:i + 1] + [placeholders[0]] + base[i + 2:]))
        cases.append((cmd, "read-only output folder", base + ["-ofolder" if cmd in _OFOLDER else "-o",
                                                               "{readonly}/sub" if cmd in _OFOLDER
                                                               else "{readonly}/out.nii.gz"]))
    for cmd, argv, expected in SPECIFIC:
        cases.append((cmd, "specific " + " ".join(argv[-2:]) + " -> " + expected, argv))
    return cases


_OFOLDER = {"sct_analyze_lesion", "sct_deepseg_lesion", "sct_propseg", "sct_register_multimodal",
            "sct_register_to_template", "sct_straighten_spinalcord", "sct_warp_template"}
_NO_O = {"sct_check_dependencies", "sct_version", "sct_qc", "sct_label_utils_display"}


@pytest.mark.parametrize("cmd,case,argv", _cases(), ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_is_refused_cleanly(cmd, case, argv, corpus, tmp_path, monkeypatch, capsys):
    root, files = corpus
    if case == "read-only output folder" and cmd in _NO_O:
        pytest.skip(f"{cmd} writes no output file")
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    if case == "read-only output folder" and os.access(readonly, os.W_OK):
        pytest.skip("running as a user that can write anywhere (root): read-only folders mean nothing")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    names = dict(files)
    names.update({f"{k}_{kind}": str(root / f"{k}_{kind}.nii.gz") for k in FILES for kind in ("corrupt", "truncated")})
    names.update(text=str(root / "text.nii.gz"), readonly=str(readonly))
    argv = [a.format(**names) if "{" in a else a for a in argv]
    before = {p.name: _sha(p) for p in root.iterdir()}

    module = importlib.import_module(f"spinalcordtoolbox.scripts.{cmd}")
    with pytest.raises(SystemExit) as exc:
        module.main(argv)
    err = capsys.readouterr().err
    assert exc.value.code not in (0, None), f"{cmd} {case}: accepted"
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and (lines[0].startswith("ERROR: ") or f"{cmd}: error: " in lines[0]), err
    if " -> " in case:
        assert case.split(" -> ", 1)[1] in lines[0]
    assert list(work.rglob("*")) == [], f"{cmd} {case}: left {list(work.rglob('*'))}"
    assert list(readonly.iterdir()) == []
    assert {p.name: _sha(p) for p in root.iterdir()} == before, f"{cmd} {case}: an input was modified"
    readonly.chmod(stat.S_IRWXU)


def test_corrupt_gzip_is_refused_by_the_reader(corpus):
    """The reader reads the gzip stream to its end (CRC check), where nibabel alone stops early."""
    import nibabel as nib
    import numpy as np

    from spinalcordtoolbox.image import Image, ImageError

    root, files = corpus
    corrupt = root / "t2_corrupt.nii.gz"
    good = np.asanyarray(nib.load(files["t2"]).dataobj)
    with gzip.open(corrupt) as f:  # the stream still decodes: only the CRC tells
        with pytest.raises(gzip.BadGzipFile, match="CRC"):
            f.read()
    with pytest.raises(ImageError, match="Corrupt or truncated compressed file"):
        Image(corrupt)
    assert np.array_equal(Image(files["t2"]).data, good)


# ------------------------------------------------------------------ NaN/Inf in the inputs
#: (command, input) -> rule, where it is not "refuse" (docs/README.md, Conventions): "keep"
#: (values copied or propagated), "zero" (read as 0 with a warning), "warp" (the warp reader's
#: own refusal). An input used twice in a base call gets the strictest rule of its flags.
#: the other commands that read images: only their NaN/Inf cases ({bvals}, {bvecs}: test data)
NAN_BASE = {
    "sct_analyze_texture": ["-i", "{t2}", "-m", "{seg}"],
    "sct_compute_flow": ["-i", "{t2}", "-venc", "50"],
    "sct_compute_mtr": ["-mt0", "{t2}", "-mt1", "{seg}"],
    "sct_compute_mtsat": ["-mt", "{t2}", "-pd", "{t2}", "-t1", "{t2}", "-trmt", "0.03", "-trpd", "0.03",
                          "-trt1", "0.015", "-famt", "9", "-fapd", "9", "-fat1", "15"],
    "sct_compute_snr": ["-i", "{t2}", "-m", "{seg}", "-m-noise", "{lesion}", "-method", "single"],
    "sct_denoising_onlm": ["-i", "{t2}"],
    "sct_detect_compression": ["-s", "{seg}", "-discfile", "{labels}"],
    "sct_detect_pmj": ["-i", "{t2}", "-c", "t2", "-s", "{seg}"],
    "sct_dmri_compute_dti": ["-i", "{dmri}", "-bval", "{bvals}", "-bvec", "{bvecs}"],
    "sct_dmri_denoise_patch2self": ["-i", "{dmri}", "-b", "{bvals}"],
    "sct_dmri_moco": ["-i", "{dmri}", "-bvec", "{bvecs}"],
    "sct_dmri_separate_b0_and_dwi": ["-i", "{dmri}", "-bvec", "{bvecs}"],
    "sct_extract_metric": ["-i", "{t2}", "-f", "{seg}"],
    "sct_flatten_sagittal": ["-i", "{t2}", "-s", "{seg}"],
    "sct_fmri_compute_tsnr": ["-i", "{dmri}"],
    "sct_fmri_moco": ["-i", "{dmri}"],
    "sct_label_vertebrae": ["-i", "{t2}", "-s", "{seg}", "-c", "t2"],
    "sct_smooth_spinalcord": ["-i", "{t2}", "-s", "{seg}"],
}
NAN_RULE = {
    ("sct_convert", "t2"): "keep", ("sct_image", "t2"): "keep", ("sct_maths", "t2"): "keep",
    ("sct_crop_image", "t2"): "keep", ("sct_resample", "t2"): "zero",
    ("sct_apply_transfo", "warp"): "warp", ("sct_concat_transfo", "warp"): "warp",
    ("sct_warp_template", "warp"): "warp",
    ("sct_compute_mtr", "t2"): "keep", ("sct_compute_mtr", "seg"): "keep",
    ("sct_compute_mtsat", "t2"): "own", ("sct_extract_metric", "t2"): "own",
}
NAN_EXTRA = [("sct_apply_transfo", "t2",
              ["-i", "{t2_nan}", "-d", "{t2}", "-w", "{identity}", "-o", "out.nii.gz"], "zero")]


def _nan_cases():
    cases = []
    for cmd, base in {**BASE, **NAN_BASE}.items():
        for key in sorted({a.strip("{}") for a in base if a.strip("{}") in NAN_KEYS}):
            argv = [f"{{{key}_nan}}" if a == f"{{{key}}}" else a for a in base]
            cases.append((cmd, key, argv, NAN_RULE.get((cmd, key), "refuse")))
    return cases + NAN_EXTRA


@pytest.mark.parametrize("cmd,key,argv,rule", _nan_cases(),
                         ids=lambda v: v if isinstance(v, str) and not v.startswith("-") else None)
def test_nan_inputs_follow_the_one_rule(cmd, key, argv, rule, corpus, sct_testing_data, tmp_path, monkeypatch,
                                        capsys):
    """Every command that reads images: NaN/Inf in an input is refused naming the file and the
    count (2: one NaN, one Inf), or handled by the rule the command documents."""
    import numpy as np

    from spinalcordtoolbox.image import Image

    root, files = corpus
    monkeypatch.chdir(tmp_path)
    names = dict(files, **{f"{k}_nan": str(root / f"{k}_nan.nii.gz") for k in NAN_KEYS})
    names.update(bvals=str(sct_testing_data / "dmri/bvals.txt"),
                 bvecs=str(sct_testing_data / "dmri/bvecs.txt"))
    argv = [a.format(**names) if "{" in a else a for a in argv]
    module = importlib.import_module(f"spinalcordtoolbox.scripts.{cmd}")
    if rule in ("refuse", "warp"):
        with pytest.raises(SystemExit) as exc:
            module.main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 1 and len(err.splitlines()) == 1, err
        expected = (f"{key}_nan.nii.gz has 2 NaN/Inf voxel(s) of " if rule == "refuse"
                    else "contains NaN or Inf displacements")
        assert expected in err
        assert list(tmp_path.iterdir()) == []
        return
    module.main(argv)
    out = capsys.readouterr().out
    if rule == "own":  # the command's documented rule (left out of estimates, set to 0)
        assert "NaN/Inf" not in out and any(tmp_path.iterdir())
        return
    result = Image(next(p for p in tmp_path.iterdir() if p.name.endswith(".nii.gz")))
    n_bad = int(np.count_nonzero(~np.isfinite(result.data)))
    if rule == "zero":
        assert f"{key}_nan.nii.gz has 2 NaN/Inf voxel(s) of 171600: they are read as 0" in out
        assert n_bad == 0
    else:
        assert n_bad >= 2 and f"{n_bad} voxel(s) of {result.data.size} are NaN/Inf" in out


def test_result_partly_nan_is_saved_with_its_count(corpus, tmp_path, monkeypatch, capsys):
    """t2 / seg: the voxels outside the cord (seg = 0) are undefined; the output says how many."""
    import numpy as np

    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.scripts import sct_maths

    root, files = corpus
    monkeypatch.chdir(tmp_path)
    sct_maths.main(["-i", files["t2"], "-div", files["seg"], "-o", "ratio.nii.gz"])
    out = capsys.readouterr().out
    n_outside = int(np.count_nonzero(Image(files["seg"]).data == 0))
    assert 0 < n_outside < 171600
    assert f"Saved ratio.nii.gz: {n_outside} voxel(s) of 171600 are NaN/Inf" in out
    assert np.count_nonzero(~np.isfinite(Image("ratio.nii.gz").data)) == n_outside
