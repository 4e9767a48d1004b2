"""sct_detect_pmj command: output, then sct_process_segmentation -pmj as in the course; errors."""
import csv

import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.labeling import pmj
from spinalcordtoolbox.scripts import sct_process_segmentation
from spinalcordtoolbox.scripts.sct_detect_pmj import main
from spinalcordtoolbox.straightening import label_points


def test_detect_then_csa_at_pmj_distance(sct_testing_data, in_tmp):
    tdir = sct_testing_data / "template"
    gt = label_points(Image(str(tdir / "template" / "PAM50_small_t2_pmj_manual.nii.gz")))[50]
    origin = gt + np.array([30, -40, -80])
    for name, order_name in (("PAM50_small_t2", "img"), ("PAM50_small_cord", "seg")):
        data, affine = pmj.resample_iso(Image(str(tdir / "template" / f"{name}.nii.gz")), 1.0, origin,
                                        (60, 80, 110))
        if order_name == "seg":
            data = (data > 0.5).astype(np.uint8)
        Image(data, affine=affine).save(f"{order_name}.nii.gz")
    main(["-i", "img.nii.gz", "-c", "t2", "-s", "seg.nii.gz", "-t", str(tdir), "-qc", "qc"])
    out = Image("img_pmj.nii.gz")
    assert out.data.max() == 50 and np.count_nonzero(out.data) == 1
    assert np.linalg.norm(label_points(out)[50] - gt) <= 5.0
    sct_process_segmentation.main(["-i", "seg.nii.gz", "-pmj", "img_pmj.nii.gz", "-pmj-distance", "64",
                                   "-pmj-extent", "30", "-o", "csa_pmj.csv"])
    rows = list(csv.DictReader(open("csa_pmj.csv")))
    assert len(rows) == 1 and float(rows[0]["MEAN(area)"]) > 0
    assert float(rows[0]["DistancePMJ"]) == 64


def test_no_brainstem_no_output(sct_testing_data, in_tmp, capsys):
    with pytest.raises(SystemExit) as e:
        main(["-i", str(sct_testing_data / "t2" / "t2.nii.gz"), "-c", "t2",
              "-t", str(sct_testing_data / "template")])
    assert e.value.code == 1
    assert "brainstem" in capsys.readouterr().err
    assert not (in_tmp / "t2_pmj.nii.gz").exists()
