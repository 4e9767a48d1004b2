"""sct_deepseg against nnU-Net itself, one tiny model per layout of the published zoo.

For each layout (testing/helpers/nnunet_layouts.py: standard softmax, region-based, custom
trainer, multi-fold, non-LPI ``image_orientation``, mouse GM/WM) a small model is fitted once
per module on a crop of the t2 subject. The reference is nnU-Net's own prediction from a file,
run as the established toolbox runs it (image reoriented to the model's orientation, nnU-Net's
SimpleITK reader, folds ensembled by majority vote); our label maps must equal it voxel for
voxel for inputs in several orientations.
"""
import numpy as np
import pytest

from helpers import nnunet_layouts as layouts

ORIENTATIONS = ("AIL", "RPI", "LAS", "SRP")


@pytest.fixture(scope="module")
def case(sct_testing_data):
    """A 34 x 40 x 31 crop of the t2 subject around the cord, and its manual segmentation."""
    from spinalcordtoolbox.image import Image, crop_image
    box = dict(xmin=14, xmax=47, ymin=5, ymax=44, zmin=10, zmax=40)
    return (crop_image(Image(sct_testing_data / "t2" / "t2.nii.gz"), **box),
            crop_image(Image(sct_testing_data / "t2" / "t2_seg-manual.nii.gz"), **box))


#: fitting iterations per layout; the mouse model is left at its (seeded) initialisation, whose
#: map has all three classes (a short fit does not learn the thin WM rim)
ITERATIONS = {"mouse": 0}


@pytest.fixture(scope="module")
def models(case, tmp_path_factory):
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: more threads only contend on a loaded CI machine
    root = tmp_path_factory.mktemp("layouts")
    built = {}

    def get(kind):
        if kind not in built:
            built[kind] = layouts.build(kind, root / kind, *case, iterations=ITERATIONS.get(kind, 30))
        return built[kind]
    yield get
    torch.set_num_threads(threads)


def _ours(folder, im, **kw):
    from spinalcordtoolbox.deepseg.inference import predict
    return predict(im, folder.parent, device="cpu", **kw)["labels"]


@pytest.mark.parametrize("kind", ["softmax", "region", "custom", "orientation", "mouse"])
def test_same_label_map_as_nnunet_in_every_orientation(kind, models, case, tmp_path):
    im, _ = case
    folder = models(kind)
    ref = layouts.nnunet_reference(folder, im, ["0"], tmp_path / "ref")
    classes = {"region": {0, 1, 2}, "mouse": {0, 1, 2}}.get(kind, {0, 1})
    assert set(np.unique(ref)) == classes, np.unique(ref, return_counts=True)  # a non-trivial map
    for orientation in ORIENTATIONS:
        x = im.copy().change_orientation(orientation)
        ours = _ours(folder, x)
        assert ours.orientation == orientation and np.allclose(ours.affine, x.affine)
        back = ours.copy().change_orientation(im.orientation).data
        assert np.array_equal(back, ref), (kind, orientation, int((back != ref).sum()))


def test_region_outputs_split_by_dataset_labels(models, case):
    """SCIsegV2-like: "sc": [1, 2] and "lesion": 2 -> _sc_seg contains _lesion_seg; an argmax over the
    region channels (the old bug) would not give nnU-Net's map."""
    from spinalcordtoolbox.deepseg.inference import output_classes, read_model_json
    from spinalcordtoolbox.deepseg.segment import segment
    im, _ = case
    folder = models("region")
    dataset, _ = read_model_json(folder)
    assert output_classes(dataset) == {"_sc_seg": [1, 2], "_lesion_seg": [2]}
    out = segment(im, "lesion_sci_t2", [folder.parent], device="cpu")
    sc, lesion = out["_sc_seg"].data, out["_lesion_seg"].data
    assert lesion.sum() > 0 and np.all(sc[lesion > 0] == 1) and sc.sum() > lesion.sum()
    # the masks are nnU-Net's regions: value 2 (lesion) inside value 1|2 (sc)
    from spinalcordtoolbox.deepseg.inference import predict
    labels = predict(im, folder.parent, device="cpu")["labels"].data
    assert np.array_equal(sc, np.isin(labels, [1, 2])) and np.array_equal(lesion, labels == 2)


def test_mouse_gm_wm_names(models, case):
    from spinalcordtoolbox.deepseg.inference import output_classes, read_model_json
    dataset, _ = read_model_json(models("mouse"))
    assert output_classes(dataset) == {"_GM_seg": [1], "_WM_seg": [2]}
    assert output_classes({"labels": {"background": 0, "gm": 1}}) == {"_gm_seg": [1]}
    assert output_classes({"labels": {"background": 0, "sc": 1}}) == {"_seg": [1]}
    assert output_classes({"labels": {"background": 0, "lvl1": 1, "lvl2": 2}}) == {"_rootlets": None}


def test_orientation_rule():
    from spinalcordtoolbox.deepseg.inference import model_orientation
    assert model_orientation({"image_orientation": "RPI"}, "Dataset1_RegionBasedLesionSeg") == "RPI"
    assert model_orientation({}, "Dataset1_RegionBasedLesionSeg") == "AIL"
    assert model_orientation({}, "Dataset2_Other") == "LPI"


def test_multifold_majority_vote_and_single_fold(models, case, tmp_path):
    """Three folds: our result is the majority vote of nnU-Net's per-fold predictions (not the
    average of their logits); -single-fold is fold 1; the lesion_ms layout (one folder per fold)
    gives the same as one folder with every fold."""
    import shutil

    from spinalcordtoolbox.deepseg.inference import majority_vote
    im, _ = case
    folder = models("multifold")
    refs = [layouts.nnunet_reference(folder, im, [f], tmp_path / f"ref{f}") for f in "012"]
    vote = majority_vote(refs)
    assert not all(np.array_equal(refs[0], r) for r in refs[1:])  # the folds disagree somewhere
    for orientation in ("AIL", "RPI"):
        ours = _ours(folder, im.copy().change_orientation(orientation)).change_orientation(im.orientation)
        assert np.array_equal(ours.data, vote), int((ours.data != vote).sum())
    assert np.array_equal(_ours(folder, im, single_fold=True).data, refs[1])
    split = tmp_path / "per_fold"
    for f in "012":
        dst = split / f"model_fold{f}" / folder.name
        dst.mkdir(parents=True)
        for name in ("dataset.json", "plans.json"):
            shutil.copy(folder / name, dst / name)
        shutil.copytree(folder / f"fold_{f}", dst / f"fold_{f}")
    from spinalcordtoolbox.deepseg.inference import predict
    assert np.array_equal(predict(im, split, device="cpu")["labels"].data, vote)


def test_test_time_mirroring_matches_nnunet(models, case, tmp_path):
    im, _ = case
    folder = models("softmax")
    ref = layouts.nnunet_reference(folder, im, ["0"], tmp_path / "ref", use_mirroring=True)
    assert np.array_equal(_ours(folder, im.copy().change_orientation("RPI"), test_time_aug=True)
                          .change_orientation(im.orientation).data, ref)


def test_soft_lesion_map_is_the_fold_average(models, case, tmp_path):
    """-soft-ms-lesion: per fold, P(lesion) where it beats P(background) (else 0), averaged over
    the folds; checked against the probabilities nnU-Net itself writes for each fold."""
    from spinalcordtoolbox.deepseg.inference import output_classes, predict
    im, _ = case
    folder = models("multifold")
    result = predict(im.copy().change_orientation("RPI"), folder.parent, device="cpu", soft=True)
    assert output_classes(result["dataset"], soft=True) == {"_msLesionSoft": None}
    per_fold = []
    for f in "012":
        probs = layouts.nnunet_reference(folder, im, [f], tmp_path / f"p{f}", probabilities=True)
        per_fold.append(np.where(probs[1] > probs[0], probs[1], 0))
    expected = np.mean(per_fold, axis=0)
    ours = result["soft"].change_orientation(im.orientation).data
    assert ours.max() > 0.5
    np.testing.assert_allclose(ours, expected, atol=1e-6)
