"""sct_register_multimodal on the test subject's MT data (in-process calls of main)."""
import os

import numpy as np
import pytest

os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "2")

from spinalcordtoolbox.image import Image  # noqa: E402
from spinalcordtoolbox.scripts import sct_register_multimodal  # noqa: E402


def test_slicereg_mt0_to_mt1_close_to_gold_standard(in_tmp, sct_testing_data):
    from scipy.ndimage import binary_dilation
    d = sct_testing_data / "mt"
    assert sct_register_multimodal.main([
        "-i", str(d / "mt0.nii.gz"), "-d", str(d / "mt1.nii.gz"), "-dseg", str(d / "mt1_seg.nii.gz"),
        "-param", "step=1,type=im,algo=slicereg,metric=CC", "-ofolder", "out", "-qc", "qc",
        "-v", "0"]) == 0
    names = {"mt0_reg.nii.gz", "mt1_reg.nii.gz", "warp_mt02mt1.nii.gz", "warp_mt12mt0.nii.gz"}
    assert names <= {p.name for p in (in_tmp / "out").iterdir()}
    assert (in_tmp / "qc" / "index.html").is_file()
    moved = Image("out/mt0_reg.nii.gz").data.astype(float)
    gold = Image(str(d / "mt0_reg_slicereg_goldstandard.nii.gz")).data.astype(float)
    src = Image(str(d / "mt0.nii.gz")).data.astype(float)
    # metric: inside the cord mask dilated by 3 voxels (the region the registration must get
    # right), normalised RMS difference to the established toolbox's result and correlation.
    # Measured: NRMS 0.029, r 0.996 (unregistered mt0: NRMS 0.251, r 0.688).
    mask = binary_dilation(Image(str(d / "mt1_seg.nii.gz")).data > 0, iterations=3)
    nrms = np.sqrt(np.mean((moved[mask] - gold[mask]) ** 2)) / np.sqrt(np.mean(gold[mask] ** 2))
    assert nrms < 0.06
    assert np.corrcoef(moved[mask], gold[mask])[0, 1] > 0.98
    assert np.sqrt(np.mean((src[mask] - gold[mask]) ** 2)) / np.sqrt(np.mean(gold[mask] ** 2)) > 0.2
    # warps are ITK fields on the destination (forward) and source (inverse) grids
    w = Image("out/warp_mt02mt1.nii.gz")
    assert w.data.shape == (40, 40, 5, 1, 3) and int(w.hdr["intent_code"]) == 1007


def test_centermass_bsplinesyn_t2_to_mt1(in_tmp, sct_testing_data):
    d = sct_testing_data
    assert sct_register_multimodal.main([
        "-i", str(d / "t2" / "t2.nii.gz"), "-iseg", str(d / "t2" / "t2_seg-manual.nii.gz"),
        "-d", str(d / "mt" / "mt1.nii.gz"), "-dseg", str(d / "mt" / "mt1_seg.nii.gz"),
        "-param", "step=1,type=seg,algo=centermass:step=2,type=seg,algo=bsplinesyn,"
                  "metric=MeanSquares,iter=5", "-v", "0"]) == 0
    from spinalcordtoolbox.scripts import sct_apply_transfo
    assert sct_apply_transfo.main(["-i", str(d / "t2" / "t2_seg-manual.nii.gz"), "-d",
                                   str(d / "mt" / "mt1.nii.gz"), "-w", "warp_t22mt1.nii.gz",
                                   "-x", "linear", "-o", "seg_moved.nii.gz", "-v", "0"]) == 0
    moved = Image("seg_moved.nii.gz").data > 0.5
    fixed = Image(str(d / "mt" / "mt1_seg.nii.gz")).data > 0.5
    covered = slice(1, 4)  # mt slices inside the t2 field of view (0 and 4 are outside it)
    a, b = moved[:, :, covered], fixed[:, :, covered]
    assert 2 * (a & b).sum() / (a.sum() + b.sum()) >= 0.9  # measured 0.997


@pytest.mark.parametrize("param, message", [
    ("step=1,type=im,algo=slicreg", "Did you mean 'slicereg'"),
    ("step=1,type=im,algo=syn,metric=NMI", "Allowed: CC, MI, MeanSquares"),
    ("step=1,type=seg,algo=centermass", "-iseg and -dseg"),
    ("step=1,type=seg,algo=centermassrot,rot_method=pcahog", "use type=imseg"),
])
def test_bad_param_one_line_error_no_output(in_tmp, sct_testing_data, capsys, param, message):
    d = sct_testing_data / "mt"
    with pytest.raises(SystemExit) as e:
        sct_register_multimodal.main(["-i", str(d / "mt0.nii.gz"), "-d", str(d / "mt1.nii.gz"),
                                      "-param", param])
    err = capsys.readouterr().err
    assert e.value.code == 1 and message in err and err.count("\n") == 1
    assert not list(in_tmp.iterdir())


def test_4d_source_is_refused(in_tmp, sct_testing_data, capsys):
    d = sct_testing_data
    with pytest.raises(SystemExit) as e:
        sct_register_multimodal.main(["-i", str(d / "dmri" / "dmri.nii.gz"),
                                      "-d", str(d / "mt" / "mt1.nii.gz")])
    assert e.value.code == 1 and "must be 3-D" in capsys.readouterr().err
    assert not list(in_tmp.iterdir())


def test_label_registration_and_o_names_outputs(in_tmp, sct_testing_data):
    """type=label writes the same four outputs; -o names the moved source and <o>_inv the moved
    destination, as the established tool. Labels shifted by (3, -2, 1) voxels: the moved source
    is the source shifted the same way (checked in the interior)."""
    t2 = sct_testing_data / "t2"
    src = Image(str(t2 / "t2.nii.gz"))
    labels = Image(str(t2 / "labels.nii.gz"))
    moved = Image(np.roll(labels.data, (3, -2, 1), axis=(0, 1, 2)), hdr=labels.hdr, affine=labels.affine)
    moved.save("dlabel.nii.gz")
    assert sct_register_multimodal.main([
        "-i", str(t2 / "t2.nii.gz"), "-d", str(t2 / "t2.nii.gz"), "-ilabel", str(t2 / "labels.nii.gz"),
        "-dlabel", "dlabel.nii.gz", "-param", "step=1,type=label,algo=translation",
        "-o", "t2_moved.nii.gz", "-x", "nn", "-v", "0"]) == 0
    for name in ("t2_moved.nii.gz", "t2_moved_inv.nii.gz", "warp_t22t2.nii.gz"):
        assert Image(name).data.shape[:3] == src.data.shape[:3]
    shifted = np.roll(src.data, (3, -2, 1), axis=(0, 1, 2))[5:-5, 5:-5, 5:-5]
    assert np.allclose(Image("t2_moved.nii.gz").data[5:-5, 5:-5, 5:-5], shifted)
    back = np.roll(src.data, (-3, 2, -1), axis=(0, 1, 2))[5:-5, 5:-5, 5:-5]
    assert np.allclose(Image("t2_moved_inv.nii.gz").data[5:-5, 5:-5, 5:-5], back)
