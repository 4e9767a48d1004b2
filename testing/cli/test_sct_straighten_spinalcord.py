"""sct_straighten_spinalcord command: outputs, accuracy print, errors."""
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.registration import warp
from spinalcordtoolbox.scripts.sct_straighten_spinalcord import main


def test_outputs_and_accuracy(sct_testing_data, in_tmp, capsys):
    t2 = sct_testing_data / "t2"
    main(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"), "-x", "linear",
          "-ofolder", "out", "-qc", "qc"])
    out = capsys.readouterr().out
    rms = float(out.split("Straightening accuracy: RMS ")[1].split(" mm")[0])
    assert rms < 1.0  # measured 0.28 mm
    for name in ("straight_ref", "t2_straight", "warp_curve2straight", "warp_straight2curve"):
        assert (in_tmp / "out" / f"{name}.nii.gz").is_file(), name
    # the straight->curve field lives on the input's grid, the other on straight_ref's
    s2c, _ = warp.read_warp(str(in_tmp / "out" / "warp_straight2curve.nii.gz"))
    assert s2c.data.shape == (60, 55, 52, 1, 3)
    ref = Image(str(in_tmp / "out" / "straight_ref.nii.gz"))
    c2s, _ = warp.read_warp(str(in_tmp / "out" / "warp_curve2straight.nii.gz"))
    assert c2s.data.shape[:3] == ref.data.shape and ref.orientation == "RPI"
    assert any((in_tmp / "qc").rglob("*.png"))


def test_empty_segmentation(sct_testing_data, in_tmp, capsys):
    t2 = Image(str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"))
    t2.data[:] = 0
    t2.save("empty.nii.gz")
    with pytest.raises(SystemExit) as e:
        main(["-i", str(sct_testing_data / "t2" / "t2.nii.gz"), "-s", "empty.nii.gz", "-ofolder", "out"])
    assert e.value.code == 1
    assert "empty" in capsys.readouterr().err
    assert not (in_tmp / "out").exists() or not any((in_tmp / "out").iterdir())


def test_ldisc_options_go_together(sct_testing_data, in_tmp, capsys):
    t2 = sct_testing_data / "t2"
    with pytest.raises(SystemExit):
        main(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"),
              "-ldisc-input", str(t2 / "labels.nii.gz")])
    assert "go together" in capsys.readouterr().err
