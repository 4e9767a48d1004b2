"""The two-model ivadomed tumor tasks (cord localisation, then a tumor model that crops around it)
and ``.pt`` releases: tiny networks laid out like the releases (``findcord_tumor``, ``t2_tumor`` in
the old config format, the multi-channel edema/cavity model in the new one), run by our runner and
by an independent reference of ivadomed's cascade written here from the configs (nibabel canonical
orientation, scipy zoom, the prior's first object's bounding box, numpy crop/pad, the torch network
itself, nibabel back to the input orientation, scipy post-processing)."""
import json
import zipfile

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHAPE = (22, 26, 16)  # x (R-L), y (A-P), z (I-S) of the phantom, RAS
CORD = (slice(8, 13), slice(10, 16), slice(3, 14))
TUMOR = (slice(9, 12), slice(11, 14), slice(7, 10))


def _findcord_config():
    """findcord_tumor's layout (old format: 'UNet3D', no post-processing block, augmentations
    without dataset_type), scaled down."""
    return {"object_detection_params": {"object_detection_path": None, "safety_factor": [1.0, 1.0, 1.0]},
            "loader_parameters": {"target_suffix": ["_sc-mask"], "slice_axis": "sagittal", "multichannel": False,
                                  "roi_params": {"suffix": None, "slice_filter_roi": None}},
            "default_model": {"name": "UNet3D", "applied": True, "length_3D": [32, 24, 8],
                              "stride_3D": [32, 24, 8]},
            "UNet3D": {"applied": True, "length_3D": [32, 24, 8], "stride_3D": [32, 24, 8]},
            "testing_parameters": {"binarize_prediction": True},
            "transformation": {"Resample": {"wspace": 1, "hspace": 1, "dspace": 2, "preprocessing": True},
                               "CenterCrop": {"size": [32, 24, 8], "preprocessing": True},
                               "RandomAffine": {"degrees": 5, "applied_to": ["im", "gt"]},
                               "NumpyToTensor": {}, "NormalizeInstance": {"applied_to": ["im"]}}}


def _tumor_config(multichannel):
    """t2_tumor's layout (old format, prior from a detection model, no crop transform) or the
    edema/cavity model's (new format, two contrasts, four outputs, post-processing block)."""
    cfg = {"object_detection_params": {"object_detection_path": "/trained/sc_model",
                                       "safety_factor": [1.2, 1.2, 1.0] if multichannel else [1.0, 1.0, 1.0]},
           "loader_parameters": {"target_suffix": ["_seg-tumor"], "slice_axis": "sagittal",
                                 "multichannel": multichannel},
           "default_model": {"name": "Unet", "depth": 4},
           "UNet3D": {"applied": True, "length_3D": [16, 16, 8], "stride_3D": [8, 8, 4]},
           "transformation": {"Resample": {"wspace": 1, "hspace": 1, "dspace": 2, "preprocessing": True},
                              "RandomAffine": {"degrees": 5, "applied_to": ["im", "gt"],
                                               "dataset_type": ["training"]},
                              "NumpyToTensor": {}, "NormalizeInstance": {"applied_to": ["im"]}}}
    if multichannel:
        cfg["loader_parameters"]["target_suffix"] = ["_seg-tumor", "_seg-edema", "_seg-cavity", "_seg-whole-tumor"]
        cfg["default_model"].update(is_2d=False, final_activation="sigmoid")
        cfg["Modified3DUNet"] = cfg.pop("UNet3D")
        cfg["postprocessing"] = {"binarize_prediction": {"thr": 0.5}, "remove_small": {"thr": 4, "unit": "vox"},
                                 "fill_holes": {}}
    return cfg


def _findcord_net():
    # bright (normalised) cord -> ~1, background -> < 0.01 (zeroed): a clean prior
    conv = torch.nn.Conv3d(1, 1, 1)
    with torch.no_grad():
        conv.weight.fill_(4.0)
        conv.bias.fill_(-7.0)
    return torch.nn.Sequential(conv, torch.nn.Sigmoid()).eval()


def _tumor_net(n_in, n_out, seed):
    torch.manual_seed(seed)
    conv = torch.nn.Conv3d(n_in, n_out, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(3.0)
    return torch.nn.Sequential(conv, torch.nn.Sigmoid()).eval()


def _export(net, folder, name, n_in, fmt):
    folder.mkdir(parents=True)
    if fmt == "onnx":
        axes = {0: "b", 2: "h", 3: "w", 4: "d"}
        torch.onnx.export(net, (torch.zeros(1, n_in, 16, 16, 8),), str(folder / f"{name}.onnx"), dynamo=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": axes})
    elif fmt == "torchscript":
        torch.jit.trace(net, torch.zeros(1, n_in, 16, 16, 8)).save(str(folder / f"{name}.pt"))
    else:  # a whole pickled module, as ivadomed saves its models
        torch.save(net, str(folder / f"{name}.pt"))


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """Release folders (as the GitHub archives: <repo>-<tag>/<name>.json + network) and the nets."""
    root = tmp_path_factory.mktemp("ivadomed_tumor")
    nets = {"findcord_tumor": (_findcord_net(), _findcord_config(), 1, "onnx"),
            "t2_tumor": (_tumor_net(1, 1, 5), _tumor_config(False), 1, "torchscript"),
            "edema": (_tumor_net(2, 4, 6), _tumor_config(True), 2, "onnx")}
    out = {}
    for name, (net, cfg, n_in, fmt) in nets.items():
        folder = root / name / f"{name}-r20201215"
        _export(net, folder, name, n_in, fmt)
        (folder / f"{name}.json").write_text(json.dumps(cfg))
        zpath = root / f"{name}.zip"
        with zipfile.ZipFile(zpath, "w") as z:
            for f in folder.rglob("*"):
                z.write(f, f.relative_to(root / name))
        out[name] = (root / name, net, cfg, zpath)
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A T2w-like and a T1w-like phantom on one grid (cord bright on T2, tumor brighter), 0.9 x 1.1
    x 1.8 mm, with little noise."""
    rng = np.random.default_rng(1)
    t2 = 1.0 + rng.normal(0, 0.05, SHAPE)
    t2[CORD] = 4.0
    t2[TUMOR] = 7.0
    t1 = 2.0 + rng.normal(0, 0.05, SHAPE)
    t1[CORD] = 1.0
    t1[TUMOR] = 3.0
    affine = np.diag([0.9, 1.1, 1.8, 1.0])
    affine[:3, 3] = [-9, 4, 30]
    folder = tmp_path_factory.mktemp("tumor_img")
    for name, data in (("t2", t2), ("t1", t1)):
        nib.save(nib.Nifti1Image(data.astype(np.float32), affine), folder / f"{name}.nii.gz")
    return folder


def _oriented(folder, name, orientation, tmp_path):
    from spinalcordtoolbox.image import Image
    path = tmp_path / f"{name}_{orientation}.nii.gz"
    Image(str(folder / f"{name}.nii.gz")).change_orientation(orientation).save(str(path))
    return path


# ---- independent reference of ivadomed's cascade ----------------------------------------------

def _hwd(nii):
    can = nib.as_closest_canonical(nii)
    z = can.header.get_zooms()[:3]
    return np.asarray(can.dataobj, np.float64).transpose(2, 1, 0), (z[2], z[1], z[0])


def _pad_crop(a, starts, size):
    pads = [(max(0, -s), max(0, s + t - n)) for s, t, n in zip(starts, size, a.shape)]
    p = np.pad(a, pads)
    return p[tuple(slice(s + q[0], s + q[0] + t) for s, q, t in zip(starts, pads, size))]


def _unpad_crop(a, shape, starts):
    big = np.zeros([n + 2 * t for n, t in zip(shape, a.shape)], a.dtype)
    big[tuple(slice(s + t, s + 2 * t) for s, t in zip(starts, a.shape))] = a
    return big[tuple(slice(t, t + n) for t, n in zip(a.shape, shape))]


def _ref_box(prior_nii, safety, factors):
    mask, _ = _hwd(prior_nii)
    lab, _ = ndimage.label(mask)
    idx = np.argwhere(lab == 1)  # ivadomed takes the first object, not the largest
    lo, hi = idx.min(0), idx.max(0)
    box = []
    for a, b, f in zip(lo, hi, safety):  # widen around the centre
        n = (b - a) * f
        s = int(round(max(a - (n - (b - a)) // 2, 0)))
        box.append((s, int(s + n)))
    out = []
    for (a, b), f in zip(box, factors):  # onto the resampled grid
        a, b = a * f, b * f
        s = int(round(max(a, 0)))
        out.append((s, int(s + (b - a))))
    return out


def _reference(paths, release, prior_nii=None):
    _, net, cfg, _ = release
    m3d = cfg.get("Modified3DUNet") or cfg["UNet3D"]
    L, S = m3d["length_3D"], m3d["stride_3D"]
    niis = [nib.load(str(p)) for p in paths]
    chans, zooms = zip(*[_hwd(n) for n in niis])
    z = zooms[0]
    res = cfg["transformation"]["Resample"]
    f = (z[0] / res["hspace"], z[1] / res["wspace"], z[2] / res["dspace"])
    rs = [ndimage.zoom(c, f, order=2) for c in chans]
    if prior_nii is not None:
        box = _ref_box(prior_nii, cfg["object_detection_params"]["safety_factor"], f)
        size = [max(b - a, length) for (a, b), length in zip(box, L)]
        size = [n + ((s - (n - length) % s) % s) for n, length, s in zip(size, L, S)]
        starts = [a for a, _ in box]
    else:
        size = cfg["transformation"]["CenterCrop"]["size"]
        starts = [int(round((n - t) / 2.)) for n, t in zip(rs[0].shape, size)]
    x = np.stack([_pad_crop(r, starts, size) for r in rs])
    x = np.stack([(c - c.mean()) / c.std() for c in x])
    with torch.no_grad():
        n_out = net(torch.zeros((1,) + x[:, :L[0], :L[1], :L[2]].shape)).shape[1]
    acc = np.zeros((n_out,) + x.shape[1:], np.float32)
    cnt = np.zeros(x.shape[1:], np.float32)
    for i in range(0, x.shape[1] - L[0] + 1, S[0]):
        for j in range(0, x.shape[2] - L[1] + 1, S[1]):
            for k in range(0, x.shape[3] - L[2] + 1, S[2]):
                sl = (slice(i, i + L[0]), slice(j, j + L[1]), slice(k, k + L[2]))
                with torch.no_grad():
                    acc[(slice(None),) + sl] += net(torch.from_numpy(
                        x[(slice(None),) + sl][None].astype(np.float32))).numpy()[0]
                cnt[sl] += 1
    acc /= cnt
    outs = []
    ornt = nib.orientations.ornt_transform(nib.orientations.axcodes2ornt("RAS"),
                                           nib.orientations.io_orientation(niis[0].affine))
    for p in acc:
        u = _unpad_crop(p, rs[0].shape, starts)
        u = ndimage.zoom(u, [a / b for a, b in zip(chans[0].shape, u.shape)], order=1).transpose(2, 1, 0)
        outs.append(nib.orientations.apply_orientation(u, ornt))
    out = np.stack(outs)
    out[out <= 0.01] = 0
    # the config's post-processing with the established defaults (-largest 0, -fill-holes 0 remove
    # their steps)
    for step, p in (cfg.get("postprocessing") or {}).items():
        if step == "binarize_prediction":
            out = (out >= p["thr"]).astype(np.float32)
        elif step == "remove_small":
            s18 = ndimage.generate_binary_structure(3, 2)
            for c in range(len(out)):
                lab, n = ndimage.label(out[c], s18)
                sizes = ndimage.sum(np.ones_like(lab), lab, range(1, n + 1))
                for k, size in enumerate(sizes, 1):
                    if size < p["thr"]:
                        out[c][lab == k] = 0
    return out


def _ref_cascade(paths_first, paths_second, releases, second):
    affine = nib.load(str(paths_first[0])).affine
    cord = _reference(paths_first, releases["findcord_tumor"])[0]
    prior = nib.Nifti1Image(cord.astype(np.float32), affine)
    return cord, _reference(paths_second, releases[second], prior)


@pytest.mark.parametrize("orientation", ["RPI", "AIL"])
def test_tumor_t2_cascade_equals_reference(releases, images, tmp_path, orientation):
    from spinalcordtoolbox.deepseg.ivadomed_runner import find_ivadomed_model, predict, prior_box, read_config
    from spinalcordtoolbox.image import Image

    t2 = _oriented(images, "t2", orientation, tmp_path)
    cord = predict(Image(str(t2)), releases["findcord_tumor"][0])
    assert find_ivadomed_model(releases["t2_tumor"][0])[0].suffix == ".pt"  # a .pt-only release
    tumor = predict(Image(str(t2)), releases["t2_tumor"][0], prior=cord[0])
    ref_cord, ref_tumor = _ref_cascade([t2], [t2], releases, "t2_tumor")
    np.testing.assert_allclose(cord[0].data, ref_cord, atol=1e-5)
    # the localisation finds the phantom's cord (edges blurred by the resampling to 2 mm and back)
    truth = Image(str(images / "t2.nii.gz")).copy()
    truth.data = np.zeros(SHAPE, np.float32)
    truth.data[CORD] = 1
    found, true = cord[0].data > 0.5, truth.change_orientation(orientation).data > 0.5
    dice = 2 * np.count_nonzero(found & true) / (np.count_nonzero(found) + np.count_nonzero(true))
    print("findcord Dice", dice)
    assert dice > 0.85
    # the tumor model ran on the crop around the cord (smaller than the image) and gives the
    # reference's soft map (old config: no post-processing block)
    box = prior_box(cord[0], 0)
    spans = [box[1] - box[0], box[3] - box[2], box[5] - box[4]]
    assert spans[0] < SHAPE[2] and spans[1] < SHAPE[1] and spans[2] < SHAPE[0]
    assert read_config(find_ivadomed_model(releases["t2_tumor"][0])[1])["Modified3DUNet"]["applied"]
    assert tumor[0].data.dtype == np.float32 and tumor[0].data.max() > 0.5
    np.testing.assert_allclose(tumor[0].data, ref_tumor[0], atol=1e-5)
    # nothing is predicted far outside the box (zero-padded, undone)
    assert np.count_nonzero(tumor[0].data) < tumor[0].data.size


def test_tumor_edema_cavity_cli_two_contrasts(releases, images, tmp_path, monkeypatch):
    """sct_deepseg tumor_edema_cavity_t1_t2 -i T1 T2 -c t1 t2: both releases installed from zips
    (-custom-url, one per model), the localisation on T2, the 2-channel model on (T2, T1); masks
    equal the reference's (binarised, small objects removed, holes not filled by default)."""
    from spinalcordtoolbox.scripts import sct_deepseg

    monkeypatch.setenv("SCT_DATA_DIR", str(tmp_path / "cache"))
    t2 = _oriented(images, "t2", "LPI", tmp_path)
    t1 = _oriented(images, "t1", "LPI", tmp_path)
    sct_deepseg.main(["tumor_edema_cavity_t1_t2", "-i", str(t1), str(t2), "-c", "t1", "t2", "-custom-url",
                      str(releases["findcord_tumor"][3]), str(releases["edema"][3]), "-v", "0"])
    _, ref = _ref_cascade([t2], [t2, t1], releases, "edema")
    for k, suffix in enumerate(["_tumor_seg", "_edema_seg", "_cavity_seg"]):
        path = tmp_path / f"t1_LPI{suffix}.nii.gz"
        out = np.asanyarray(nib.load(str(path)).dataobj)
        assert np.array_equal(out, ref[k].astype(np.uint8)), suffix
        assert 0 < np.count_nonzero(out) < out.size / 2
    assert not list(tmp_path.glob("*sc-mask*"))  # the cord prior is not kept


@pytest.mark.parametrize("argv, message", [
    (["tumor_edema_cavity_t1_t2", "-i", "{t2}"], "takes 2 images"),
    (["tumor_edema_cavity_t1_t2", "-i", "{t2}", "{t1}", "-c", "t2", "t2"], "once each"),
    (["tumor_t2", "-i", "{t2}", "{t1}"], "takes one image"),
    (["tumor_t2", "-i", "{t2}", "-c", "t2"], "-c applies"),
    (["tumor_edema_cavity_t1_t2", "-i", "{t1_shifted}", "{t2}", "-c", "t1", "t2"], "voxel grids"),
])
def test_tumor_bad_inputs(images, tmp_path, monkeypatch, capsys, argv, message):
    from spinalcordtoolbox.scripts import sct_deepseg

    monkeypatch.setenv("SCT_DATA_DIR", str(tmp_path / "cache"))
    paths = {"t2": str(images / "t2.nii.gz"), "t1": str(images / "t1.nii.gz"),
             "t1_shifted": str(tmp_path / "t1_shifted.nii.gz")}
    t1 = nib.load(paths["t1"])
    shifted = t1.affine.copy()
    shifted[2, 3] += 5  # the same shape 5 mm higher: another grid
    nib.save(nib.Nifti1Image(np.asanyarray(t1.dataobj), shifted), paths["t1_shifted"])
    with pytest.raises(SystemExit) as e:
        sct_deepseg.main([a.format(**paths) for a in argv])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "cache").exists()  # refused before any download


@pytest.mark.parametrize("fmt", ["torchscript", "pickle"])
def test_pt_release_equals_onnx(images, tmp_path, fmt):
    """The same tiny network saved as .onnx and as .pt (TorchScript or a pickled module) gives
    identical masks through the same config."""
    from spinalcordtoolbox.deepseg.ivadomed_runner import predict
    from spinalcordtoolbox.image import Image

    net = _tumor_net(1, 1, 9)
    cfg = _findcord_config()
    cfg["postprocessing"] = {"binarize_prediction": {"thr": 0.5}}
    for kind in ("onnx", fmt):
        _export(net, tmp_path / kind / "model", "model", 1, kind)
        (tmp_path / kind / "model" / "model.json").write_text(json.dumps(cfg))
    im = Image(str(_oriented(images, "t2", "AIL", tmp_path)))
    a = predict(im, tmp_path / "onnx")[0].data
    b = predict(im, tmp_path / fmt)[0].data
    assert 0 < np.count_nonzero(a) < a.size and np.array_equal(a, b)


def test_pickled_state_dict_refused(tmp_path, images):
    from spinalcordtoolbox.deepseg.ivadomed_runner import predict
    from spinalcordtoolbox.image import Image, ImageError

    folder = tmp_path / "model"
    folder.mkdir()
    torch.save(_tumor_net(1, 1, 9).state_dict(), folder / "model.pt")
    (folder / "model.json").write_text(json.dumps(_findcord_config()))
    with pytest.raises(ImageError, match="state dict"):
        predict(Image(str(images / "t2.nii.gz")), tmp_path)
