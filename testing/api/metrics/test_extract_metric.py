"""metrics.extract_metric on an analytic two-tract phantom with known values and partial volumes."""
import csv

import numpy as np
import pytest

from spinalcordtoolbox.image import Image

TRUE = {"A": 40.0, "B": 20.0, "CSF": 5.0}
EDGE_AB, EDGE_BC = 7.3, 13.6        # tract boundaries (voxel units along x)
SHAPE = (20, 12, 4)

INFO = """# phantom atlas
# Keyword=IndivLabels (Please DO NOT change this line)
# ID, name, file
0, tract A, atlas_A.nii.gz
1, tract B, atlas_B.nii.gz
2, CSF, atlas_CSF.nii.gz

# Keyword=CombinedLabels (Please DO NOT change this line)
# ID, name, IDgroup
50, cord, 0:1

# Keyword=MAPLabels (Please DO NOT change this line)
# Name, IDgroup
white matter, 0:1
CSF, 2
"""


def _weights():
    x = np.arange(SHAPE[0], dtype=float)[:, None, None] * np.ones(SHAPE)
    w_a = np.clip(EDGE_AB - x, 0, 1)             # voxel [x, x+1) covered left of the edge
    w_c = np.clip(x + 1 - EDGE_BC, 0, 1)
    w_b = 1 - w_a - w_c
    # the outermost column (y = 0) lies outside every label
    for w in (w_a, w_b, w_c):
        w[:, 0, :] = 0
    return {"A": w_a, "B": w_b, "CSF": w_c}


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    """Metric = partial-volume mix of the three true values + Gaussian noise (sigma 0.5)."""
    folder = tmp_path_factory.mktemp("phantom")
    w = _weights()
    rng = np.random.default_rng(0)
    clean = sum(w[k] * TRUE[k] for k in TRUE)
    data = clean + rng.normal(0, 0.5, SHAPE)
    data[3, 5, 2] = np.nan                  # a non-finite voxel is left out, not propagated
    affine = np.diag([-0.8, 0.8, 5.0, 1.0])
    atlas = folder / "atlas"
    atlas.mkdir()
    for k in TRUE:
        Image(w[k].astype(np.float32), affine=affine).save(str(atlas / f"atlas_{k}.nii.gz"), verbose=False)
    (atlas / "info_label.txt").write_text(INFO)
    Image(data.astype(np.float32), affine=affine).save(str(folder / "metric.nii.gz"), verbose=False)
    return {"folder": folder, "atlas": atlas, "metric": folder / "metric.nii.gz", "w": w,
            "clean": clean, "data": data}


def _value(rows, method):
    assert len(rows) == 1
    return rows[0][f"{method.upper()}()"]


def test_ml_and_map_recover_both_tracts(phantom):
    from spinalcordtoolbox.metrics.extract_metric import extract_metric

    im = Image(str(phantom["metric"]))
    for label, key in ((0, "A"), (1, "B")):
        for method in ("ml", "map"):
            rows = extract_metric(im, phantom["atlas"], labels=str(label), method=method, z="0:3")
            assert _value(rows, method) == pytest.approx(TRUE[key], rel=0.01), (method, key)


def test_wa_bias_and_bin_mean_as_predicted(phantom):
    from spinalcordtoolbox.metrics.extract_metric import extract_metric

    im = Image(str(phantom["metric"]))
    w_a, clean, data = phantom["w"]["A"], phantom["clean"], phantom["data"]
    ok = np.isfinite(data)
    # WA mixes in tract B through the partial-volume column at x = 7: predicted from the model
    predicted = np.sum(w_a * clean * ok) / np.sum(w_a * ok)
    wa = _value(extract_metric(im, phantom["atlas"], labels="0", method="wa", z="0:3"), "wa")
    assert wa == pytest.approx(predicted, abs=0.05)
    assert TRUE["A"] - wa > 0.5     # biased towards B (20), by about 1.3
    # bin = plain mean over voxels with weight >= 0.5 (x <= 6 and the 0.3 column excluded)
    bin_value = _value(extract_metric(im, phantom["atlas"], labels="0", method="bin", z="0:3"), "bin")
    assert bin_value == pytest.approx(np.mean(data[(w_a >= 0.5) & ok]), rel=1e-6)
    # combined label 50 (A + B): ML solves A+B as one unknown; WA over the sum
    rows = extract_metric(im, phantom["atlas"], labels="50", method="wa", z="0:3")
    w_ab = phantom["w"]["A"] + phantom["w"]["B"]
    assert rows[0]["Size [vox]"] == pytest.approx(np.sum(w_ab * ok), rel=1e-6)
    assert rows[0]["Label"] == "cord"


def test_median_and_max(phantom):
    from spinalcordtoolbox.metrics.extract_metric import extract_metric, weighted_median

    im = Image(str(phantom["metric"]))
    data, w_c = phantom["data"], phantom["w"]["CSF"]
    ok = np.isfinite(data) & (w_c > 0)
    mx = _value(extract_metric(im, phantom["atlas"], labels="2", method="max", z="0:3"), "max")
    assert mx == pytest.approx(data[ok].max(), rel=1e-6)
    # equal weights: the weighted median is the ordinary median
    assert weighted_median(np.array([5.0, 1, 3, 2]), np.ones(4)) == pytest.approx(2.5)
    assert weighted_median(np.array([1.0, 2, 3]), np.array([1.0, 0, 1])) == pytest.approx(2.0)
    med = _value(extract_metric(im, phantom["atlas"], labels="2", method="median", z="0:3"), "median")
    assert np.percentile(data[ok], 25) < med < np.percentile(data[ok], 75)


def test_perslice_default_and_combine(phantom):
    from spinalcordtoolbox.metrics.extract_metric import extract_metric

    im = Image(str(phantom["metric"]))
    rows = extract_metric(im, phantom["atlas"], labels="0,1", method="ml")
    assert [r["Slice (I->S)"] for r in rows] == ["0", "1", "2", "3"] * 2
    assert [r["Label"] for r in rows[::4]] == ["tract A", "tract B"]
    rows = extract_metric(im, phantom["atlas"], labels="0,1", method="ml", z="1:2", combine=True)
    assert len(rows) == 1 and rows[0]["Label"] == "0,1" and rows[0]["Slice (I->S)"] == "1:2"
    # A and B estimated as one compartment: their volume-weighted mean
    wa, wb = phantom["w"]["A"].sum(), phantom["w"]["B"].sum()
    assert rows[0]["ML()"] == pytest.approx((wa * TRUE["A"] + wb * TRUE["B"]) / (wa + wb), rel=0.03)


def test_discard_negative_values(phantom, tmp_path):
    from spinalcordtoolbox.metrics.extract_metric import extract_metric

    data = phantom["data"].copy()
    data[0:3, 1:4, :] = -1000.0           # inside tract A
    im = Image(data.astype(np.float32), affine=np.diag([-0.8, 0.8, 5.0, 1.0]))
    kept = _value(extract_metric(im, phantom["atlas"], labels="0", method="wa", z="0:3",
                                 discard_neg_val=True), "wa")
    assert kept == pytest.approx(TRUE["A"], abs=2)
    biased = _value(extract_metric(im, phantom["atlas"], labels="0", method="wa", z="0:3"), "wa")
    assert biased < 0


def test_same_csv_in_rpi_and_psr(phantom, tmp_path):
    """Reorienting metric and atlas together (data and header) changes no number."""
    from spinalcordtoolbox.metrics.extract_metric import columns, extract_metric
    from spinalcordtoolbox.utils.csvio import write_results_csv

    psr = tmp_path / "atlas"
    psr.mkdir()
    (psr / "info_label.txt").write_text(INFO)
    for k in TRUE:
        im = Image(str(phantom["atlas"] / f"atlas_{k}.nii.gz")).change_orientation("PSR")
        im.save(str(psr / f"atlas_{k}.nii.gz"), verbose=False)
    metric_psr = Image(str(phantom["metric"])).change_orientation("PSR")
    assert metric_psr.orientation == "PSR"
    outs = []
    for im, atlas, name in ((Image(str(phantom["metric"])), phantom["atlas"], "rpi.csv"),
                            (metric_psr, psr, "psr.csv")):
        rows = extract_metric(im, atlas, labels="0,1,2,50", method="map")
        write_results_csv(tmp_path / name, rows, columns("map"))
        with open(tmp_path / name, newline="") as f:
            outs.append([r[3:] for r in csv.reader(f)])
    assert outs[0] == outs[1] and len(outs[0]) == 1 + 4 * SHAPE[2]


def test_output_map_is_the_partial_volume_model(phantom):
    from spinalcordtoolbox.metrics.extract_metric import extract_metric

    im = Image(str(phantom["metric"]))
    rows, im_map = extract_metric(im, phantom["atlas"], labels="0", method="ml", z="0:3", return_map=True)
    assert im_map.data.shape == SHAPE and im_map.orientation == im.orientation
    inside = sum(phantom["w"].values()) > 0
    # ML values of the three labels mixed by their weights: the noise-free phantom, within 1 %
    np.testing.assert_allclose(im_map.data[inside], phantom["clean"][inside], rtol=0.01)
    assert np.all(im_map.data[~inside] == 0)


def test_combined_label_map_and_label_file(phantom, tmp_path):
    """MAP of a combined label (its prior: the merged clusters of its members) and -label-file."""
    from spinalcordtoolbox.metrics.extract_metric import extract_metric, list_labels
    from spinalcordtoolbox.utils.cli import SCTError

    im = Image(str(phantom["metric"]))
    wa, wb = phantom["w"]["A"].sum(), phantom["w"]["B"].sum()
    cord = (wa * TRUE["A"] + wb * TRUE["B"]) / (wa + wb)
    rows = extract_metric(im, phantom["atlas"], labels="50", method="map", z="0:3")
    assert rows[0]["MAP()"] == pytest.approx(cord, rel=0.03)
    # a description file kept elsewhere, naming only tract B and the CSF
    info = tmp_path / "my_labels.txt"
    info.write_text("# Keyword=IndivLabels\n1, tract B, atlas_B.nii.gz\n2, CSF, atlas_CSF.nii.gz\n")
    assert "1, tract B" in list_labels(phantom["atlas"], info_file=info)
    rows = extract_metric(im, phantom["atlas"], labels="1", method="ml", z="0:3", info_file=info)
    # without tract A in the model, B absorbs A's signal at their shared edge: biased upwards
    assert rows[0]["Label"] == "tract B" and rows[0]["ML()"] > TRUE["B"] + 1
    with pytest.raises(SCTError, match="valid ids: 1:2"):
        extract_metric(im, phantom["atlas"], labels="0", info_file=info)
    with pytest.raises(SCTError, match="-label-file: file not found"):
        extract_metric(im, phantom["atlas"], info_file=tmp_path / "nope.txt")
