"""sct_label_vertebrae command: -discfile, init file as one shell word, outputs, cache, errors."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.scripts.sct_label_vertebrae import main


def test_discfile(sct_testing_data, in_tmp):
    t2 = sct_testing_data / "t2"
    main(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"), "-c", "t2",
          "-discfile", str(t2 / "labels.nii.gz"), "-ofolder", "out"])
    lab = Image(str(in_tmp / "out" / "t2_seg-manual_labeled.nii.gz"))
    assert np.count_nonzero(lab.data) == 4275
    assert set(np.unique(lab.data[lab.data > 0]).tolist()) == {2, 3, 4, 5}
    discs = Image(str(in_tmp / "out" / "t2_seg-manual_labeled_discs.nii.gz"))
    assert sorted(discs.data[discs.data > 0].tolist()) == [3, 5]
    assert lab.orientation == Image(str(t2 / "t2.nii.gz")).orientation


def test_init_file_outputs_and_cache(sct_testing_data, pam50, in_tmp, caplog, capsys):
    t2 = sct_testing_data / "t2"
    init = (t2 / "init_label_vertebrae.txt").read_text().strip()
    # "$(< init_label_vertebrae.txt)" reaches the command as one word: '-initz 34,3'
    args = ["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"), "-c", "t2", init,
            "-t", str(pam50), "-qc", "qc"]
    main(args)
    out = capsys.readouterr().out
    assert "Discs found" in out and "3: 34" in out
    for name in ("t2_seg-manual_labeled", "t2_seg-manual_labeled_discs", "straight_ref",
                 "warp_curve2straight", "warp_straight2curve"):
        assert (in_tmp / f"{name}.nii.gz").is_file(), name
    assert (in_tmp / "straightening.cache").is_file()
    assert any((in_tmp / "qc").rglob("*.png"))
    lab = Image(str(in_tmp / "t2_seg-manual_labeled.nii.gz"))
    assert np.count_nonzero(lab.data) == 4275
    caplog.clear()
    with caplog.at_level("INFO"):
        main(args[:-2])
    assert "Re-using the straightening" in caplog.text


def test_no_init(sct_testing_data, pam50, in_tmp, capsys):
    """No init: the C2/C3 disc at the top of t2 (z = 53, anatomical naming: see
    testing/api/labeling/test_vertebrae.py), then C3/C4... as in labels.nii.gz (C3 and C5 bodies)."""
    t2 = sct_testing_data / "t2"
    main(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"), "-c", "t2",
          "-t", str(pam50), "-ofolder", "out"])
    assert "C2-C3 disc found automatically" in capsys.readouterr().out
    discs = Image(str(in_tmp / "out" / "t2_seg-manual_labeled_discs.nii.gz")).change_orientation("RPI")
    found = {int(v): int(z) for _, _, z, v in discs.nonzero_coords()}
    truth = {3: 53, 4: 35.5, 5: 17.5, 6: 3.5}
    assert set(found) == set(truth) and all(abs(found[v] - truth[v]) <= 3 for v in truth), found
    lab = Image(str(in_tmp / "out" / "t2_seg-manual_labeled.nii.gz"))
    body = Image(str(t2 / "labels.nii.gz"))
    assert [int(lab.data[int(x), int(y), int(z)]) for x, y, z, _ in body.nonzero_coords()] == \
        [int(v) for *_, v in body.nonzero_coords()]


def test_no_c2c3_error_and_no_output(sct_testing_data, pam50, in_tmp, capsys):
    """t2 without its top 10 mm (no C2/C3 disc in the field of view): refused, nothing written."""
    from spinalcordtoolbox.image import crop_image

    t2 = sct_testing_data / "t2"
    for name in ("t2", "t2_seg-manual"):
        img = Image(str(t2 / f"{name}.nii.gz"))
        crop_image(img.copy().change_orientation("RPI"), zmax=44).change_orientation(
            img.orientation).save(str(in_tmp / f"{name}.nii.gz"))
    with pytest.raises(SystemExit) as e:
        main(["-i", "t2.nii.gz", "-s", "t2_seg-manual.nii.gz", "-c", "t2", "-t", str(pam50),
              "-ofolder", "out"])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "No C2-C3 disc found" in err and "-initz" in err and "-create-viewer" in err
    assert not (in_tmp / "out" / "t2_seg-manual_labeled.nii.gz").exists()
    assert not (in_tmp / "out" / "straight_ref.nii.gz").exists()


def test_initz_needs_two_values(sct_testing_data):
    t2 = sct_testing_data / "t2"
    with pytest.raises(SystemExit) as e:
        main(["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"), "-c", "t2",
              "-initz", "40"])
    assert e.value.code == 2


def test_viewer_commands_without_display(sct_testing_data, in_tmp, monkeypatch, capsys):
    """-create-viewer and -method viewer fail with one clear line when there is no display."""
    from spinalcordtoolbox.scripts import sct_get_centerline, sct_label_utils

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    t2 = str(sct_testing_data / "t2" / "t2.nii.gz")
    for mod, args in ((sct_label_utils, ["-i", t2, "-create-viewer", "3,4,5", "-msg", "Discs",
                                         "-o", "l.nii.gz"]),
                      (sct_get_centerline, ["-i", t2, "-method", "viewer", "-o", "c.nii.gz"])):
        with pytest.raises(SystemExit) as e:
            mod.main(args)
        assert e.value.code == 1
        assert "No display available" in capsys.readouterr().err
    assert not list(in_tmp.glob("*.nii.gz"))
