"""CLI framework, atomic outputs, input protection and the results-CSV writer."""
import os

import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.utils import cli, csvio, fs


def _parser():
    parser = cli.SCTArgumentParser(description="test command")
    parser.mandatory.add_argument("-i", type=cli.input_file, required=True)
    parser.optional.add_argument("-o")
    parser.add_common_args()
    return parser


def test_error_is_one_line_and_exit_1(tmp_path, capsys):
    def fail(args):
        raise ValueError("the segmentation is empty\nsecond line not shown")
    src = tmp_path / "in.nii.gz"
    Image(np.zeros((2, 2, 2), np.uint8)).save(src)
    with pytest.raises(SystemExit) as e:
        cli.run_command(_parser(), fail, ["-i", str(src)])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err == "ERROR: the segmentation is empty\n"


def test_missing_input_is_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.run_command(_parser(), lambda a: None, ["-i", str(tmp_path / "missing.nii.gz")])
    assert e.value.code == 2
    assert "file not found" in capsys.readouterr().err


def test_traceback_only_with_v2(tmp_path, capsys):
    src = tmp_path / "in.nii.gz"
    Image(np.zeros((2, 2, 2), np.uint8)).save(src)

    def fail(args):
        raise RuntimeError("boom")
    with pytest.raises(SystemExit):
        cli.run_command(_parser(), fail, ["-i", str(src), "-v", "2"])
    assert "Traceback" in capsys.readouterr().err


def test_output_may_not_overwrite_input(tmp_path):
    src = tmp_path / "in.nii.gz"
    Image(np.ones((2, 2, 2), np.uint8)).save(src)
    before = src.read_bytes()

    def overwrite(args):
        Image(args.i).save(args.i)
    with pytest.raises(SystemExit) as e:
        cli.run_command(_parser(), overwrite, ["-i", str(src)])
    assert e.value.code == 1
    assert src.read_bytes() == before


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with fs.atomic_output(target) as tmp:
            with open(tmp, "w") as f:
                f.write("partial")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


def test_help_fits_100_columns(capsys):
    parser = _parser()
    parser.optional.add_argument("-long", help="word " * 60)
    parser.print_help()
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 100


def test_choice_error_suggests():
    err = cli.choice_error("contrast", "t2z", ["t1", "t2", "t2s"])
    assert "Did you mean 't2'" in str(err) and "t1, t2, t2s" in str(err)


def test_results_csv_header_empty_fields_and_append(tmp_path):
    path = tmp_path / "r.csv"
    cols = ["Slice (I->S)", "VertLevel", "MEAN(area)"]
    csvio.write_results_csv(path, [{"Slice (I->S)": "0:54", "VertLevel": None, "MEAN(area)": 70.5}],
                            cols, filename="seg.nii.gz")
    csvio.write_results_csv(path, [{"Slice (I->S)": "3", "VertLevel": 2, "MEAN(area)": float("nan")}],
                            cols, filename="seg.nii.gz", append=True)
    lines = path.read_text().splitlines()
    assert lines[0] == "Timestamp,SCT Version,Filename,Slice (I->S),VertLevel,MEAN(area)"
    assert lines[1].endswith(",0:54,,70.5") and lines[2].endswith(",3,2,")
    assert len(lines) == 3
    with pytest.raises(ValueError, match="columns differ"):
        csvio.write_results_csv(path, [], ["other"], append=True)


def test_outputs_get_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        Image(np.zeros((2, 2, 2), np.uint8)).save(tmp_path / "a.nii.gz")
        assert (os.stat(tmp_path / "a.nii.gz").st_mode & 0o777) == 0o644
    finally:
        os.umask(umask)


def test_mirror_install_is_writable(models_dir, tmp_path, monkeypatch):
    """A read-only mirror (as in CI) must give a normal, removable installed copy."""
    import shutil
    import stat

    from spinalcordtoolbox import download
    src = models_dir / "deepseg_lesion"  # through the fixture: skipped without data
    mirror = tmp_path / "mirror" / "models" / "deepseg_lesion"
    shutil.copytree(src, mirror)
    for p in [mirror, *mirror.iterdir()]:
        os.chmod(p, stat.S_IMODE(os.stat(p).st_mode) & ~0o222)
    monkeypatch.setenv(download.MIRROR_ENV, str(tmp_path / "mirror"))
    dest = download.install_asset("deepseg_lesion_models", tmp_path / "cache" / "lesion")
    # mode bits, not os.access: tests may run as root, for whom everything is writable
    assert all(stat.S_IMODE(os.stat(p).st_mode) & 0o200 for p in [dest, *dest.iterdir()])
    download.install_asset("deepseg_lesion_models", dest, force=True)  # replaces the old copy
    assert not any(p.name.startswith(".") for p in dest.parent.iterdir())
    for p in [mirror, *mirror.iterdir()]:
        os.chmod(p, 0o755)


def test_log_line_during_a_progress_bar_gets_its_own_line(capsys):
    """A step's message written while a bar is drawn: the bar is cleared first (so the message does
    not land on the bar's line) and redrawn after it."""
    import logging
    import sys

    from tqdm import tqdm

    from spinalcordtoolbox.utils.cli import set_loglevel

    set_loglevel(1)
    bar = tqdm(total=3, desc="Registration steps", file=sys.stderr, leave=False)
    bar.update(1)
    capsys.readouterr()
    logging.getLogger("spinalcordtoolbox.registration").info("Step 1 done")
    bar.close()
    out, err = capsys.readouterr()
    assert out == "Step 1 done\n"
    cleared, redrawn = err.split("Registration steps", 1) if "Registration steps" in err else (err, "")
    assert "\r" in cleared and redrawn   # cleared before the message, drawn again after it
