"""sct_qc: add an entry for an existing result; rebuild the index; errors; start-up."""
import subprocess
import sys

import numpy as np
import pytest

from spinalcordtoolbox.reports.records import read_index
from spinalcordtoolbox.scripts import sct_qc


def _png_size(path):
    from PIL import Image as PILImage
    with PILImage.open(path) as png:
        png.load()
        return png.size


def test_segmentation_entry_then_rebuild(sct_testing_data, in_tmp, capsys):
    t2 = sct_testing_data / "t2"
    argv = ["-i", str(t2 / "t2.nii.gz"), "-s", str(t2 / "t2_seg-manual.nii.gz"), "-p", "sct_deepseg_sc",
            "-qc", "qc", "-qc-dataset", "course", "-qc-subject", "sub-01"]
    assert sct_qc.main(argv) == 0
    assert "qc/index.html" in capsys.readouterr().out.replace("\\", "/")
    [entry] = read_index(in_tmp / "qc")
    assert entry["command"] == "sct_qc " + " ".join(argv)
    assert (entry["dataset"], entry["subject"], entry["contrast"], entry["process"]) == (
        "course", "sub-01", "t2", "sct_deepseg_sc")
    assert entry["id"].startswith("course/sub-01/t2/sct_deepseg_sc/")
    # 55 slices hold the cord: 12 tiles of 80 px per row, 5 rows
    assert _png_size(in_tmp / "qc" / entry["background"]) == (960, 400)
    assert _png_size(in_tmp / "qc" / entry["overlay"]) == (960, 400)
    assert entry["slices"] == list(range(54, -1, -1))

    # -qc alone rebuilds a lost index from the records
    (in_tmp / "qc" / "qc_entries.js").unlink()
    (in_tmp / "qc" / "index.html").unlink()
    assert sct_qc.main(["-qc", "qc", "-v", "0"]) == 0
    assert [e["id"] for e in read_index(in_tmp / "qc")] == [entry["id"]]
    assert (in_tmp / "qc" / "index.html").is_file()


def test_before_after_entries(sct_testing_data, in_tmp):
    mt = sct_testing_data / "mt"
    before_after = ["-i", str(mt / "mt0.nii.gz"), "-d", str(mt / "mt1.nii.gz"), "-p", "sct_compute_mtr",
                    "-qc", "qc", "-v", "0"]
    assert sct_qc.main(before_after) == 0
    assert sct_qc.main(before_after + ["-plane", "sagittal"]) == 0
    axial, sagittal = sorted(read_index(in_tmp / "qc"), key=lambda e: e["plane"])
    # mt0: 40 x 40 x 5 voxels of 0.84375 x 0.84375 x 17 mm: only 5 axial slices, so by default
    # one tile per slice over the whole field of view, 40*0.84375 = 33.75 mm -> 68 px at 0.5 mm
    assert (axial["kind"], axial["plane"], axial["slices"]) == ("toggle", "axial", [4, 3, 2, 1, 0])
    assert _png_size(in_tmp / "qc" / axial["background"]) == (5 * 68, 68)
    # sagittal over the whole field of view, 39*0.84375 = 32.9 mm (A-P) x 4*17 = 68 mm (I-S):
    # 67 x 137 px at 0.5 mm, upscaled x5 (long side >= 600 px), i.e. a 0.1 mm step:
    # int(32.906/0.1)+1 = 330 x 68/0.1+1 = 681
    assert (sagittal["kind"], sagittal["plane"]) == ("toggle", "sagittal")
    assert _png_size(in_tmp / "qc" / sagittal["background"]) == (330, 681)
    assert _png_size(in_tmp / "qc" / sagittal["overlay"]) == (330, 681)
    # the two images differ (MT on / off): the toggle shows two different pictures
    from PIL import Image as PILImage
    a = np.asarray(PILImage.open(in_tmp / "qc" / sagittal["background"]).convert("L"), dtype=float)
    b = np.asarray(PILImage.open(in_tmp / "qc" / sagittal["overlay"]).convert("L"), dtype=float)
    assert np.abs(a - b).mean() > 1.0


def test_errors_are_one_line_and_leave_nothing(sct_testing_data, in_tmp, capsys):
    t2 = sct_testing_data / "t2"
    # missing input: argparse usage error
    with pytest.raises(SystemExit) as e:
        sct_qc.main(["-i", "missing.nii.gz", "-qc", "qc"])
    assert e.value.code == 2 and "file not found: missing.nii.gz" in capsys.readouterr().err
    # empty segmentation: one ERROR line, exit 1, no entry written
    from spinalcordtoolbox.image import Image, zeros_like
    zeros_like(Image(str(t2 / "t2_seg-manual.nii.gz"))).save(str(in_tmp / "empty.nii.gz"), verbose=False)
    with pytest.raises(SystemExit) as e:
        sct_qc.main(["-i", str(t2 / "t2.nii.gz"), "-s", "empty.nii.gz", "-qc", "qc"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("ERROR:") and "empty" in err and err.count("\n") == 1
    assert not list(in_tmp.rglob("entry.json"))
    # a text file is not an image
    (in_tmp / "notes.txt").write_text("hello")
    with pytest.raises(SystemExit) as e:
        sct_qc.main(["-i", "notes.txt", "-qc", "qc"])
    assert e.value.code == 1 and "Not a NIfTI" in capsys.readouterr().err
    # rebuilding a report that does not exist
    with pytest.raises(SystemExit) as e:
        sct_qc.main(["-qc", "no_such_report"])
    assert e.value.code == 1 and "QC folder not found" in capsys.readouterr().err
    assert not (in_tmp / "no_such_report").exists()
    # no report folder: the established default ./qc
    assert sct_qc.main(["-i", str(t2 / "t2.nii.gz")]) == 0
    assert (in_tmp / "qc" / "index.html").is_file() and len(list((in_tmp / "qc").rglob("entry.json"))) == 1
    # no argument at all: the usage, exit 2
    with pytest.raises(SystemExit) as e:
        sct_qc.main([])
    assert e.value.code == 2 and "usage: " in capsys.readouterr().out


def test_help_is_light_and_fits_100_columns():
    code = ("import sys; from spinalcordtoolbox.scripts import sct_qc; sct_qc.get_parser().format_help(); "
            "heavy = [m for m in ('torch', 'ants', 'dipy', 'matplotlib', 'nnunetv2', 'skimage', 'pandas', "
            "'scipy', 'PIL') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    help_text = sct_qc.get_parser().format_help()
    assert max(len(line) for line in help_text.splitlines()) <= 100
    assert "-qc-subject" in help_text and "-plane" in help_text
