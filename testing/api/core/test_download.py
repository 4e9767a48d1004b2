"""Downloader: installs through the local mirror and verifies; corrupt or offline installs leave nothing."""
import os
import shutil
import stat

import pytest

from spinalcordtoolbox import download
from spinalcordtoolbox.download import REGISTRY_DIR, sha256sum
from spinalcordtoolbox.scripts import sct_download_data


def _manifest(name):
    with open(REGISTRY_DIR / "manifests" / download.asset_info(name)["manifest"]) as f:
        return [line.split(None, 1) for line in f.read().splitlines() if line.strip()]


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def _writable_copy(src, dst):
    shutil.copytree(src, dst)
    for root, dirs, files in os.walk(dst):
        for name in dirs + files:
            p = os.path.join(root, name)
            os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
    os.chmod(dst, os.stat(dst).st_mode | stat.S_IWUSR)


def _run_cli(argv, capsys):
    try:
        rc = sct_download_data.main(argv)
    except SystemExit as e:
        rc = e.code
    return rc, capsys.readouterr()


def test_install_testing_data_from_mirror(sct_testing_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCT_DATA_MIRROR", str(sct_testing_data.parent))
    monkeypatch.setenv("SCT_DATA_DIR", str(tmp_path / "cache"))
    rc, _ = _run_cli(["-d", "sct_testing_data"], capsys)
    assert rc == 0
    dest = tmp_path / "cache" / "sct_testing_data"
    assert download.is_installed("sct_testing_data")
    entries = _manifest("sct_testing_data")
    assert len(entries) > 50
    for digest, rel in entries:           # every file of the manifest, byte for byte
        assert sha256sum(dest / rel) == digest, rel
    assert _leftovers(tmp_path / "cache") == []


def test_corrupted_mirror_installs_nothing(models_dir, tmp_path, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    _writable_copy(models_dir / "deepseg_lesion", mirror / "models" / "deepseg_lesion")
    victim = mirror / "models" / "deepseg_lesion" / "t2s_lesion.h5"
    with open(victim, "r+b") as f:          # flip the bytes of one block in the middle
        f.seek(100_000)
        block = f.read(16)
        f.seek(100_000)
        f.write(bytes(b ^ 0xFF for b in block))
    monkeypatch.setenv("SCT_DATA_MIRROR", str(mirror))
    cache = tmp_path / "cache"
    monkeypatch.setenv("SCT_DATA_DIR", str(cache))
    rc, out = _run_cli(["-d", "deepseg_lesion_models"], capsys)
    assert rc == 1
    err = out.err.strip().splitlines()
    assert len(err) == 1 and "checksum mismatch for t2s_lesion.h5" in err[0] and "nothing installed" in err[0]
    assert not (cache / "deepseg_lesion_models").exists()
    assert _leftovers(cache) == []          # no staging folder left behind


def test_offline_without_mirror_names_url_and_variable(tmp_path, monkeypatch, capsys):
    url = "http://127.0.0.1:9/x.zip"        # discard port: connection refused at once
    reg = {k: dict(v) for k, v in download.registry().items()}
    reg["deepseg_lesion_models"]["urls"] = [url]
    monkeypatch.setattr(download, "registry", lambda: reg)
    monkeypatch.delenv("SCT_DATA_MIRROR", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SCT_DATA_DIR", str(cache))
    with pytest.raises(download.DownloadError) as exc:
        download.install_asset("deepseg_lesion_models")
    assert url in str(exc.value) and "SCT_DATA_MIRROR" in str(exc.value)
    assert not (cache / "deepseg_lesion_models").exists() and _leftovers(cache) == []


def _lesion_mirror(models_dir, tmp_path, monkeypatch):
    """A local mirror holding deepseg_lesion_models (5 MB, 3 files)."""
    mirror = tmp_path / "mirror"
    _writable_copy(models_dir / "deepseg_lesion", mirror / "models" / "deepseg_lesion")
    monkeypatch.setenv("SCT_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("SCT_DATA_DIR", str(tmp_path / "cache"))
    return {rel: digest for digest, rel in _manifest("deepseg_lesion_models")}


def test_install_into_a_users_folder_merges_and_deletes_nothing(models_dir, tmp_path, monkeypatch, capsys):
    """-o <non-empty folder>: the asset's files are added, the user's files are all kept (a
    same-named one too, reported), -overwrite replaces only the same-named ones."""
    manifest = _lesion_mirror(models_dir, tmp_path, monkeypatch)
    same = sorted(manifest)[0]
    folder = tmp_path / "mydata"
    (folder / "sub").mkdir(parents=True)
    (folder / "mine.txt").write_text("keep me")
    (folder / "sub" / "notes.txt").write_text("mine too")
    (folder / same).write_bytes(b"my own edited copy")

    rc, out = _run_cli(["-d", "deepseg_lesion_models", "-o", str(folder)], capsys)
    assert rc == 0, out.err
    assert (f"Merged deepseg_lesion_models into {folder}: {len(manifest) - 1} file(s) added, 1 already "
            f"there kept as they are ({same}; -overwrite replaces them)") in out.out
    assert (folder / "mine.txt").read_text() == "keep me"
    assert (folder / "sub" / "notes.txt").read_text() == "mine too"
    assert (folder / same).read_bytes() == b"my own edited copy"
    for rel, digest in manifest.items():
        if rel != same:
            assert sha256sum(folder / rel) == digest, rel
    assert _leftovers(tmp_path) == [] and _leftovers(folder) == []

    rc, out = _run_cli(["-d", "deepseg_lesion_models", "-o", str(folder), "-overwrite"], capsys)
    assert rc == 0, out.err
    assert f"0 file(s) added, {len(manifest)} replaced ({', '.join(sorted(manifest))})" in out.out
    assert all(sha256sum(folder / rel) == digest for rel, digest in manifest.items())
    assert (folder / "mine.txt").read_text() == "keep me"
    assert (folder / "sub" / "notes.txt").read_text() == "mine too"
    assert _leftovers(folder) == []  # no backup of the replaced file left once the command succeeded
    assert sorted(p.name for p in folder.iterdir()) == sorted(["mine.txt", "sub", *manifest])


def test_install_refuses_a_file_target_and_a_clash(models_dir, tmp_path, monkeypatch, capsys):
    manifest = _lesion_mirror(models_dir, tmp_path, monkeypatch)
    target = tmp_path / "t2.nii.gz"
    target.write_bytes(b"data")
    rc, out = _run_cli(["-d", "deepseg_lesion_models", "-o", str(target)], capsys)
    assert rc in (1, 2) and "is a file" in out.err and target.read_bytes() == b"data", out.err
    folder = tmp_path / "mydata"
    (folder / sorted(manifest)[0]).mkdir(parents=True)  # a folder where the asset has a file
    rc, out = _run_cli(["-d", "deepseg_lesion_models", "-o", str(folder)], capsys)
    assert rc == 1 and "is a folder in one and a file in the other" in out.err
    assert [p.name for p in folder.iterdir()] == [sorted(manifest)[0]]
    rc, out = _run_cli(["-d", "deepseg_lesion_models", "-o", str(folder), "-k", "-overwrite"], capsys)
    assert rc == 1 and "-k and -overwrite cannot be used together" in out.err
