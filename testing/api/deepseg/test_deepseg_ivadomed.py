"""ivadomed-format sct_deepseg tasks: a tiny network exported to ONNX with a config shaped like the
published releases, run by our runner and by an independent reference of ivadomed's test-time
pipeline written here (nibabel canonical orientation, scipy zoom, numpy crop/pad, the torch
network itself, nibabel back to the input orientation, scipy post-processing)."""
import json
import shutil
import zipfile

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
pytest.importorskip("onnxruntime")

ORIENTATIONS = ["AIL", "RPI", "LAS", "SRP"]
# the order and content of the published 7T and lumbar configs
POST = {"remove_noise": {"thr": -1}, "keep_largest": {}, "binarize_prediction": {"thr": 0.5},
        "uncertainty": {"thr": -1, "suffix": "_unc-vox.nii.gz"}, "fill_holes": {},
        "remove_small": {"unit": "vox", "thr": 3}}
# user options per kind: (thr, largest, fill_holes, remove_small)
OPTIONS = {"axial": (None, False, False, None), "sagittal2ch": (None, True, True, ["3mm3"]),
           "3d": (0.6, True, False, None)}


def _net(dim, n_out, seed):
    torch.manual_seed(seed)
    conv = (torch.nn.Conv2d if dim == 2 else torch.nn.Conv3d)(1, n_out, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(3.0)
    return torch.nn.Sequential(conv, torch.nn.Sigmoid()).eval()


def _config(kind):
    cfg = {"loader_parameters": {"slice_axis": "axial", "target_suffix": ["_seg-manual"],
                                 "slice_filter_params": {"filter_empty_mask": False, "filter_empty_input": True}},
           "default_model": {"name": "Unet", "final_activation": "sigmoid"},
           "Modified3DUNet": {"applied": False, "length_3D": [16, 16, 8], "stride_3D": [16, 8, 4]},
           "postprocessing": dict(POST),
           "transformation": {
               "Resample": {"hspace": 1.0, "wspace": 1.2, "dspace": 1.5},
               "CenterCrop": {"size": [18, 13]},
               "RandomAffine": {"degrees": 5, "applied_to": ["im", "gt"], "dataset_type": ["training"]},
               "NumpyToTensor": {},
               "NormalizeInstance": {"applied_to": ["im"]}}}
    if kind == "sagittal2ch":
        cfg["loader_parameters"]["slice_axis"] = "sagittal"
        cfg["loader_parameters"]["target_suffix"] = ["_seg-manual", "_gmseg-manual"]
    if kind == "3d":
        cfg["Modified3DUNet"]["applied"] = True
        cfg["transformation"]["Resample"]["preprocessing"] = True
        cfg["transformation"]["CenterCrop"] = {"size": [16, 32, 8], "preprocessing": True}
    return cfg


KINDS = {"axial": (2, 1), "sagittal2ch": (2, 2), "3d": (3, 1)}


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """One release folder per kind: <name>/<name>.onnx + <name>.json, and the torch network."""
    root = tmp_path_factory.mktemp("ivadomed_models")
    out = {}
    for i, (kind, (dim, n_out)) in enumerate(KINDS.items()):
        net = _net(dim, n_out, seed=i + 3)
        folder = root / kind / f"model_{kind}"
        folder.mkdir(parents=True)
        shape = (1, 1, 16, 16) if dim == 2 else (1, 1, 16, 16, 8)
        axes = {0: "b", 2: "h", 3: "w"} if dim == 2 else {0: "b", 2: "h", 3: "w", 4: "d"}
        torch.onnx.export(net, (torch.zeros(shape),), str(folder / f"model_{kind}.onnx"), dynamo=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": axes, "output": axes})
        (folder / f"model_{kind}.json").write_text(json.dumps(_config(kind)))
        out[kind] = (root / kind, net, _config(kind))
    return out


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    data = rng.normal(0, 0.3, (26, 21, 12))
    xx, yy = np.mgrid[:26, :21]
    data += 3.0 * (((xx - 12.3) ** 2 + (yy - 10.1) ** 2) < 20)[:, :, None]
    data[:, :, 0] = 0  # an empty slice: not segmented
    affine = np.diag([0.8, 0.9, 2.0, 1.0])
    affine[:3, 3] = [-10, 5, 20]
    path = tmp_path_factory.mktemp("ivadomed_img") / "im_LAS.nii.gz"
    nib.save(nib.Nifti1Image(data.astype(np.float32), affine), path)
    return path


def _oriented(image_file, orientation, tmp_path):
    from spinalcordtoolbox.image import Image
    im = Image(str(image_file)).change_orientation(orientation)
    path = tmp_path / f"im_{orientation}.nii.gz"
    im.save(str(path))
    return path


# ---- independent reference of ivadomed's test-time pipeline -----------------------------------

def _ref_crop(a, size):
    starts = [int(round((n - t) / 2.)) for n, t in zip(a.shape, size)]
    pads = [(max(0, -s), max(0, s + t - n)) for s, t, n in zip(starts, size, a.shape)]
    padded = np.pad(a, pads)
    return padded[tuple(slice(s + p[0], s + p[0] + t) for s, p, t in zip(starts, pads, size))], starts


def _ref_uncrop(a, shape, starts):
    out = np.zeros(shape, a.dtype)
    big = np.pad(out, [(t, t) for t in a.shape])
    sl = tuple(slice(s + t, s + 2 * t) for s, t in zip(starts, a.shape))
    big[sl] = a
    return big[tuple(slice(t, t + n) for t, n in zip(a.shape, shape))]


def _ref_forward(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(x.astype(np.float32))[None, None]).numpy()[0]


def _reference(path, release, thr=None, largest=False, fill_holes=False, remove_small=None):
    _, net, cfg = release
    nii = nib.load(str(path))
    can = nib.as_closest_canonical(nii)
    data = np.asarray(can.dataobj, dtype=np.float64)
    zooms = can.header.get_zooms()[:3]
    t = cfg["transformation"]
    res, crop = t["Resample"], t["CenterCrop"]["size"]
    axis = cfg["loader_parameters"]["slice_axis"]
    if axis == "axial":
        hwd, z = data, zooms
    else:  # sagittal: (z, y, x)
        hwd, z = data.transpose(2, 1, 0), (zooms[2], zooms[1], zooms[0])
    if cfg["Modified3DUNet"]["applied"]:
        f = (z[0] / res["hspace"], z[1] / res["wspace"], z[2] / res["dspace"])
        r = ndimage.zoom(hwd, f, order=2)
        c, starts = _ref_crop(r, crop)
        c = (c - c.mean()) / c.std()  # on the whole volume, before the sub-volumes
        L, S = cfg["Modified3DUNet"]["length_3D"], cfg["Modified3DUNet"]["stride_3D"]
        pred = np.zeros((1,) + c.shape, np.float32)
        count = np.zeros(c.shape, np.float32)
        for x0 in range(0, c.shape[0] - L[0] + 1, S[0]):
            for y0 in range(0, c.shape[1] - L[1] + 1, S[1]):
                for z0 in range(0, c.shape[2] - L[2] + 1, S[2]):
                    box = (slice(x0, x0 + L[0]), slice(y0, y0 + L[1]), slice(z0, z0 + L[2]))
                    pred[(slice(None),) + box] += _ref_forward(net, c[box])
                    count[box] += 1
        pred /= count
        chans = []
        for p in pred:
            u = _ref_uncrop(p, r.shape, starts)
            chans.append(ndimage.zoom(u, [a / b for a, b in zip(hwd.shape, u.shape)], order=1))
        out = np.stack(chans)
    else:
        out = None
        for k in range(hwd.shape[2]):
            sl = hwd[:, :, k:k + 1]
            if not sl.any():
                continue
            r = ndimage.zoom(sl, (z[0] / res["hspace"], z[1] / res["wspace"], 1.0), order=2)
            c, starts = _ref_crop(r[:, :, 0], crop)
            p = _ref_forward(net, (c - c.mean()) / c.std())
            if out is None:
                out = np.zeros((p.shape[0],) + hwd.shape, np.float32)
            for ch in range(p.shape[0]):
                u = _ref_uncrop(p[ch], r.shape[:2], starts)[:, :, None]
                out[ch, :, :, k] = ndimage.zoom(u, [a / b for a, b in zip(sl.shape, u.shape)], order=1)[:, :, 0]
    if axis != "axial":
        out = out.transpose(0, 3, 2, 1)
    back = nib.orientations.ornt_transform(nib.orientations.axcodes2ornt("RAS"),
                                           nib.orientations.io_orientation(nii.affine))
    out = np.stack([nib.orientations.apply_orientation(ch, back) for ch in out])
    out[out <= 0.01] = 0
    # the established toolbox's options on the config's post-processing, then the steps in order
    post = dict(cfg["postprocessing"])
    if thr:
        post["binarize_prediction"] = {"thr": thr}
    if not largest:
        post.pop("keep_largest", None)
    if not fill_holes:
        post.pop("fill_holes", None)
    if remove_small:
        post["remove_small"] = {"unit": "mm3", "thr": [float(remove_small[0][:-3])]}
    vox = float(np.prod(nii.header.get_zooms()[:3]))
    x = np.moveaxis(out.astype(np.float32), 0, -1)  # (x, y, z, class) as ivadomed holds it
    for step, p in post.items():
        if step == "binarize_prediction":
            x = np.where(x >= p["thr"], 1.0, 0.0)
        elif step == "keep_largest":
            lab, n = ndimage.label(x >= 0.001)
            keep = lab == np.argmax(np.bincount(lab.ravel())[1:]) + 1 if n > 1 else x >= 0.001
            x = np.where(keep, x, 0.0)
        elif step == "fill_holes":
            x = np.stack([ndimage.binary_fill_holes(x[..., c] >= 0.5, np.ones((3, 3, 3)))
                          for c in range(x.shape[-1])], -1).astype(float)
        elif step == "remove_small":
            size = p["thr"][0] if isinstance(p["thr"], list) else p["thr"]
            size = np.round(size / vox) if p["unit"] == "mm3" else size
            for c in range(x.shape[-1]):
                lab, n = ndimage.label(x[..., c], np.ones((3, 3, 3)) - _corners())
                for k in range(1, n + 1):
                    if np.count_nonzero(lab == k) < size:
                        x[..., c][lab == k] = 0
    return list(np.moveaxis(x, -1, 0))


def _corners():
    """18-connectivity = the 3x3x3 cube minus its 8 corners."""
    c = np.zeros((3, 3, 3))
    c[::2, ::2, ::2] = 1
    return c


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_ivadomed_runner_equals_reference(releases, image_file, tmp_path, kind, orientation):
    from spinalcordtoolbox.deepseg.ivadomed_runner import predict
    from spinalcordtoolbox.image import Image

    path = _oriented(image_file, orientation, tmp_path)
    im = Image(str(path))
    thr, largest, fill, small = OPTIONS[kind]
    ours = predict(im, releases[kind][0], thr=thr, largest=largest, fill_holes=fill, remove_small=small)
    ref = _reference(path, releases[kind], thr, largest, fill, small)
    assert len(ours) == len(ref)
    for o, r in zip(ours, ref):
        assert o.data.shape == im.data.shape and o.orientation == orientation
        assert np.array_equal(o.data, r.astype(np.uint8))
        assert 20 < np.count_nonzero(r) < r.size / 2  # a real, non-trivial mask


def test_ivadomed_soft_output(releases, image_file, tmp_path):
    """A config without post-processing (as the mouse models') gives the soft prediction (values
    <= 0.01 zeroed); -thr 0.7 binarises it."""
    from spinalcordtoolbox.deepseg.ivadomed_runner import predict
    from spinalcordtoolbox.image import Image

    folder, net, cfg = releases["sagittal2ch"]
    soft = tmp_path / "soft" / "model_soft"
    soft.mkdir(parents=True)
    shutil.copy(folder / "model_sagittal2ch" / "model_sagittal2ch.onnx", soft / "model_soft.onnx")
    cfg = dict(cfg, postprocessing={})
    (soft / "model_soft.json").write_text(json.dumps(cfg))
    path = _oriented(image_file, "AIL", tmp_path)
    ours = predict(Image(str(path)), soft.parent, thr=0)
    ref = _reference(path, (soft.parent, net, cfg))
    for o, r in zip(ours, ref):
        assert o.data.dtype == np.float32 and 0.5 < o.data.max() <= 1
        np.testing.assert_allclose(o.data, r, atol=1e-5)
    binar = predict(Image(str(path)), soft.parent, thr=0.7)
    for o, r in zip(binar, _reference(path, (soft.parent, net, cfg), thr=0.7)):
        assert np.array_equal(o.data, r.astype(np.uint8))


def test_sct_deepseg_ivadomed_task(releases, image_file, tmp_path, monkeypatch):
    """The CLI installs a release zip through the downloader (-custom-url) and writes the task's outputs."""
    from spinalcordtoolbox.scripts import sct_deepseg

    monkeypatch.setenv("SCT_DATA_DIR", str(tmp_path / "cache"))
    src = releases["sagittal2ch"][0]
    zpath = tmp_path / "release.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for f in src.rglob("*"):
            z.write(f, f.relative_to(src))
    path = _oriented(image_file, "RPI", tmp_path)
    shutil.copy(path, tmp_path / "t2s.nii.gz")
    sct_deepseg.main(["gm_sc_7t_t2star", "-i", str(tmp_path / "t2s.nii.gz"), "-custom-url", str(zpath),
                      "-v", "0"])
    ref = _reference(path, releases["sagittal2ch"])
    for suffix, r in zip(["_seg", "_gmseg"], ref):
        out = nib.load(str(tmp_path / f"t2s{suffix}.nii.gz"))
        assert np.array_equal(np.asarray(out.dataobj), r)
        assert (tmp_path / f"t2s{suffix}.json").is_file()


def test_ivadomed_3d_tiling_refused(releases, image_file, tmp_path):
    """Sub-volumes that do not tile the preprocessed image are refused, as ivadomed's loader does."""
    from spinalcordtoolbox.deepseg.ivadomed_runner import predict
    from spinalcordtoolbox.image import Image, ImageError

    folder, _, cfg = releases["3d"]
    bad = tmp_path / "bad" / "model_bad"
    bad.mkdir(parents=True)
    shutil.copy(folder / "model_3d" / "model_3d.onnx", bad / "model_bad.onnx")
    cfg = json.loads(json.dumps(cfg))
    cfg["Modified3DUNet"]["stride_3D"] = [16, 12, 8]
    (bad / "model_bad.json").write_text(json.dumps(cfg))
    with pytest.raises(ImageError, match="do not tile"):
        predict(Image(str(image_file)), bad.parent)
