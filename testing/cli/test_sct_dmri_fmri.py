"""sct_dmri_* and sct_fmri_* commands, in-process, on sct_testing_data (course lines)."""
import json

import numpy as np
import pytest

from spinalcordtoolbox.image import Image


@pytest.fixture(scope="module")
def data(sct_testing_data):
    return sct_testing_data


def _main(module):
    import importlib
    return importlib.import_module(f"spinalcordtoolbox.scripts.{module}").main


def test_separate_b0_and_dwi(data, in_tmp):
    d = data / "dmri"
    _main("sct_dmri_separate_b0_and_dwi")(["-i", str(d / "dmri.nii.gz"), "-bvec", str(d / "bvecs.txt"),
                                           "-ofolder", "out", "-v", "0"])
    raw = Image(str(d / "dmri.nii.gz")).data.astype(float)
    b0, dwi = Image("out/dmri_b0.nii.gz"), Image("out/dmri_dwi.nii.gz")
    assert b0.data.shape[3] == 1 and dwi.data.shape[3] == 6
    assert np.allclose(Image("out/dmri_dwi_mean.nii.gz").data, raw[..., 1:].mean(3), atol=1e-3)
    assert np.allclose(Image("out/dmri_b0_mean.nii.gz").data, raw[..., 0], atol=1e-3)
    assert Image("out/dmri_dwi.nii.gz").hdr.get_zooms()[3] == pytest.approx(2.2)


@pytest.mark.parametrize("args,message", [
    (["-bvec", "short.txt"], "has 6 entries but the image has 7 volumes"),
    (["-bvec", "REAL", "-i3d"], "must be a 4-D series, got a 3-D image"),
])
def test_separate_bad_input_writes_nothing(data, in_tmp, capsys, args, message):
    d = data / "dmri"
    np.savetxt("short.txt", np.loadtxt(d / "bvecs.txt")[:6])
    image = str(d / ("dmri_T0000.nii.gz" if "-i3d" in args else "dmri.nii.gz"))
    args = [a.replace("REAL", str(d / "bvecs.txt")) for a in args if a != "-i3d"]
    with pytest.raises(SystemExit) as e:
        _main("sct_dmri_separate_b0_and_dwi")(["-i", image, "-ofolder", "out"] + args)
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (in_tmp / "out").exists()


def test_dmri_moco_course_line(data, in_tmp):
    """sct_dmri_moco -i dmri.nii.gz -m mask_dmri_dwi_mean.nii.gz -bvec bvecs.txt -qc ... -qc-seg ..."""
    d = data / "dmri"
    _main("sct_create_mask")(["-i", str(d / "dwi_mean.nii.gz"), "-p",
                              f"centerline,{d / 'dwi_mean_centerline-optic.nii.gz'}", "-size", "35mm",
                              "-o", "mask_dmri_dwi_mean.nii.gz", "-v", "0"])
    _main("sct_dmri_moco")(["-i", str(d / "dmri.nii.gz"), "-m", "mask_dmri_dwi_mean.nii.gz", "-bvec",
                            str(d / "bvecs.txt"), "-qc", "qc", "-qc-seg", "mask_dmri_dwi_mean.nii.gz", "-v", "0"])
    moco = Image("dmri_moco.nii.gz")
    raw = Image(str(d / "dmri.nii.gz"))
    assert moco.data.shape == raw.data.shape and np.allclose(moco.affine, raw.affine)
    assert np.allclose(Image("dmri_moco_dwi_mean.nii.gz").data, moco.data[..., 1:].mean(3), atol=1e-3)
    assert np.allclose(Image("dmri_moco_b0_mean.nii.gz").data, moco.data[..., 0], atol=1e-3)
    rows = open("moco_params.tsv").read().splitlines()
    assert rows[0] == "X\tY" and len(rows) == 8
    t = np.array([[float(v) for v in r.split("\t")] for r in rows[1:]])
    px = Image("moco_params_x.nii.gz")
    assert px.data.shape == (1, 1, 5, 7)
    assert np.allclose(px.data[0, 0].mean(0), t[:, 0], atol=1e-5)
    # the b=0 volume and the first DW group are the targets; the second group moved < 1 mm
    assert np.all(t[:4] == 0) and np.all(np.abs(t[4:]) < 1)
    entries = list((in_tmp / "qc").rglob("entry.json"))
    assert len(entries) == 1
    record = json.loads(entries[0].read_text())
    assert record["process"] == "sct_dmri_moco" and record["kind"] == "toggle" and len(record["slices"]) == 7


def test_fmri_moco_and_tsnr(data, in_tmp):
    f = data / "fmri"
    im = Image(str(f / "fmri.nii.gz"))
    Image(im.data[..., :6], hdr=im.hdr, affine=im.affine).save("fmri.nii.gz")
    _main("sct_fmri_moco")(["-i", "fmri.nii.gz", "-g", "2", "-x", "linear", "-param", "poly=1,search=3",
                            "-v", "0"])
    rows = open("moco_params.tsv").read().splitlines()
    assert len(rows) == 7
    t = np.array([[float(v) for v in r.split("\t")] for r in rows[1:]])
    assert np.all(t[:2] == 0) and np.allclose(t[2], t[3]) and np.allclose(t[4], t[5])  # groups of 2
    moco = Image("fmri_moco.nii.gz")
    assert np.allclose(Image("fmri_moco_mean.nii.gz").data, moco.data.mean(3), atol=1e-2)
    _main("sct_fmri_compute_tsnr")(["-i", "fmri_moco.nii.gz", "-v", "0"])
    x = moco.data.astype(float)
    std = x.std(3, ddof=1)
    expected = np.divide(x.mean(3), std, out=np.zeros_like(std), where=std > 0)
    assert np.allclose(Image("fmri_moco_tsnr.nii.gz").data, expected, rtol=1e-5, atol=1e-5)
    assert (std == 0).any() and np.all(Image("fmri_moco_tsnr.nii.gz").data[std == 0] == 0)


def test_fmri_tsnr_matches_established_where_defined(data, in_tmp):
    f = data / "fmri"
    _main("sct_fmri_compute_tsnr")(["-i", str(f / "fmri.nii.gz"), "-v", "0"])
    ours = Image("fmri_tsnr.nii.gz").data
    ref = Image(str(f / "fmri_tsnr.nii.gz")).data
    ok = np.isfinite(ref)
    assert np.abs(ours[ok] - ref[ok]).max() < 1e-4
    assert np.all(ours[~ok] == 0)     # std = 0: the established toolbox writes NaN


def test_moco_mask_on_other_grid(data, in_tmp, capsys):
    with pytest.raises(SystemExit):
        _main("sct_fmri_moco")(["-i", str(data / "fmri" / "fmri.nii.gz"), "-m",
                                str(data / "dmri" / "dwi_mean.nii.gz")])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "mask (40, 42, 5) is not on the grid of the image (68, 68, 6)" in err[0]
    assert list(in_tmp.iterdir()) == []


def test_compute_dti_and_gradient_tools(data, in_tmp):
    d = data / "dmri"
    _main("sct_dmri_compute_dti")(["-i", str(d / "dmri.nii.gz"), "-bval", str(d / "bvals.txt"),
                                   "-bvec", str(d / "bvecs.txt"), "-o", "out/dti_", "-evecs", "1", "-v", "0"])
    fa = Image("out/dti_FA.nii.gz").data
    md = Image("out/dti_MD.nii.gz").data
    assert fa.shape == (40, 42, 5) and 0 <= fa.min() and fa.max() <= 1
    assert np.allclose(md, (Image("out/dti_L1.nii.gz").data + Image("out/dti_L2.nii.gz").data
                            + Image("out/dti_L3.nii.gz").data) / 3, rtol=1e-5, atol=1e-9)
    _main("sct_dmri_transpose_bvecs")(["-bvec", str(d / "bvecs.txt"), "-o", "bvecs_fsl.txt", "-v", "0"])
    _main("sct_dmri_concat_bvecs")(["-i", "bvecs_fsl.txt", str(d / "bvecs.txt"), "-v", "0"])
    assert np.loadtxt("bvecs_concat.txt").shape == (3, 14)
    _main("sct_dmri_concat_bvals")(["-i", str(d / "bvals.txt"), str(d / "bvals.txt"), "-v", "0"])
    assert np.loadtxt("bvals_concat.txt").tolist() == [0] + [750] * 6 + [0] + [750] * 6
    _main("sct_dmri_display_bvecs")(["-bvec", "bvecs_fsl.txt", "-o", "b.png", "-v", "0"])
    assert open("b.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    _main("sct_dmri_separate_b0_and_dwi")(["-i", str(d / "dmri.nii.gz"), "-bvec", str(d / "bvecs.txt"),
                                           "-a", "0", "-v", "0"])
    with pytest.raises(SystemExit):   # bvecs of the DW volumes only: 7 entries for 6 volumes
        _main("sct_dmri_concat_b0_and_dwi")(["-i", "dmri_b0.nii.gz", "dmri_dwi.nii.gz", "-order", "b0",
                                             "dwi", "-bvec", "bvecs_fsl.txt", "-o", "x.nii.gz"])
    np.savetxt("dwi_bvecs.txt", np.loadtxt(d / "bvecs.txt")[1:])
    _main("sct_dmri_concat_b0_and_dwi")(["-i", "dmri_b0.nii.gz", "dmri_dwi.nii.gz", "-order", "b0", "dwi",
                                         "-bvec", "dwi_bvecs.txt", "-o", "x.nii.gz", "-obvec", "xb.txt",
                                         "-v", "0"])
    assert np.array_equal(Image("x.nii.gz").data, Image(str(d / "dmri.nii.gz")).data)
    assert np.allclose(np.loadtxt("xb.txt").T, np.loadtxt(d / "bvecs.txt"), atol=1e-9)
