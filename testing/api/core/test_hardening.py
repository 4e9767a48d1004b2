"""The shared safety mechanisms: output transactions, staging, stale-file sweep, locked CSV
appends, argument types, user-facing messages, offline behaviour, installation report."""
import argparse
import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from spinalcordtoolbox.utils import cli, fs
from spinalcordtoolbox.utils.csvio import write_results_csv

REPO = Path(__file__).resolve().parents[3]


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def _parser():
    p = cli.SCTArgumentParser(description="test", allow_no_args=True)
    p.optional.add_argument("-qc", metavar="<folder>")
    p.optional.add_argument("-size", metavar="<float>", type=cli.positive_float)
    p.add_common_args()
    return p


# ------------------------------------------------------------------ transactions
def test_failed_command_removes_created_files_and_restores_replaced_ones(tmp_path, capsys):
    old = tmp_path / "result.txt"
    old.write_text("previous result\n")

    def work(args):
        fs.atomic_write_text(tmp_path / "new" / "a.txt", "a")   # new file in a new folder
        fs.atomic_write_text(old, "half-made result")           # replaces an existing file
        raise ValueError("the third step failed")

    with pytest.raises(SystemExit) as e:
        cli.run_command(_parser(), work, [])
    assert e.value.code == 1
    assert capsys.readouterr().err == "ERROR: the third step failed\n"
    assert old.read_text() == "previous result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]  # no folder, no .part, no backup


def test_successful_command_keeps_outputs_and_leaves_no_backup(tmp_path):
    old = tmp_path / "result.txt"
    old.write_text("previous")
    cli.run_command(_parser(), lambda a: fs.atomic_write_text(old, "new"), [])
    assert old.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]


def test_staged_folder_moves_everything_at_the_end_or_nothing(tmp_path):
    dest = tmp_path / "label"
    with pytest.raises(RuntimeError):
        with fs.staged_folder(dest) as stage:
            fs.atomic_write_text(Path(stage) / "template" / "a.txt", "a")
            assert not dest.exists()  # nothing visible before the end
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with fs.staged_folder(dest) as stage:
        for name in ("a", "b"):
            fs.atomic_write_text(Path(stage) / "template" / f"{name}.txt", name)
    assert sorted(p.name for p in (dest / "template").iterdir()) == ["a.txt", "b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["label"]


_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from spinalcordtoolbox.utils import cli, fs
    def work(args):
        fs.atomic_write_text(sys.argv[1] + "/first.txt", "1")
        with fs.atomic_output(sys.argv[1] + "/second.txt") as tmp:
            open(tmp, "w").write("partial")
            print("ready", flush=True)
            time.sleep(60)
    cli.run_command(cli.SCTArgumentParser(allow_no_args=True), work, [])
""")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_command_leaves_nothing_after_the_next_write(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    left = sorted(p.name for p in tmp_path.iterdir())
    if sig == signal.SIGTERM:  # handled: the command undoes its outputs itself
        assert proc.returncode == 143 and err.strip() == "ERROR: terminated"
        assert left == []
    else:  # SIGKILL cannot be handled: the next writer in the folder sweeps the dead process's files
        assert "first.txt" in left and any(".part" in n for n in left)
        time.sleep(2.1)  # leftovers younger than 2 s are never touched (a writer may be starting)
        fs._SWEPT.clear()
        fs.atomic_write_text(tmp_path / "other.txt", "x")
        assert not any(".part" in p.name for p in tmp_path.iterdir())


# ------------------------------------------------------------------ CSV appends
_APPENDER = textwrap.dedent("""
    import sys
    from spinalcordtoolbox.utils.cli import SCTArgumentParser, run_command
    from spinalcordtoolbox.utils.csvio import write_results_csv
    path, who = sys.argv[1], sys.argv[2]
    for k in range(15):
        run_command(SCTArgumentParser(allow_no_args=True), lambda a: write_results_csv(
            path, [{"subject": who, "k": k}], ["subject", "k"], filename=who, append=True), [])
""")


def test_parallel_appends_keep_every_row_and_one_header(tmp_path):
    path = tmp_path / "shared.csv"
    procs = [subprocess.Popen([sys.executable, "-c", _APPENDER, str(path), f"sub-{i:02d}"], env=_env())
             for i in range(6)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 6
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Timestamp", "SCT Version", "Filename", "subject", "k"]
    body = rows[1:]
    assert len(body) == 6 * 15
    assert sorted((r[3], int(r[4])) for r in body) == sorted((f"sub-{i:02d}", k) for i in range(6) for k in range(15))
    assert [p.name for p in tmp_path.iterdir()] == ["shared.csv"]  # no lock file left


def test_append_refuses_other_columns_and_a_failed_command_appends_nothing(tmp_path, capsys):
    path = tmp_path / "csa.csv"
    write_results_csv(path, [{"a": 1}], ["a"])
    with pytest.raises(ValueError, match="columns differ"):
        write_results_csv(path, [{"b": 1}], ["b"], append=True)

    def work(args):
        write_results_csv(path, [{"a": 2}], ["a"], append=True)
        raise RuntimeError("later step failed")

    with pytest.raises(SystemExit):
        cli.run_command(_parser(), work, [])
    assert len(path.read_text().splitlines()) == 2


# ------------------------------------------------------------------ arguments and messages
@pytest.mark.parametrize("func,text", [(cli.positive_float, "nan"), (cli.positive_float, "-5"),
                                       (cli.positive_float, "0"), (cli.finite_float, "inf"),
                                       (cli.nonnegative_float, "-0.1"), (cli.positive_int, "0"),
                                       (cli.nonnegative_int, "-1"), (cli.float_in_range(0, 1), "2"),
                                       (cli.finite_list(), "5,5,nan"), (cli.positive_float, "abc")])
def test_numeric_types_refuse_meaningless_values(func, text):
    with pytest.raises(argparse.ArgumentTypeError):
        func(text)


def test_numeric_types_accept_meaningful_values():
    assert cli.positive_float("2.5") == 2.5 and cli.nonnegative_float("0") == 0.0
    assert cli.float_in_range(0, 1)("0.5") == 0.5 and cli.finite_list()("1,-2") == [1.0, -2.0]
    assert cli.list_type(",", cli.nonnegative_int)("0,3") == [0, 3]


def test_argparse_errors_are_one_line_with_a_suggestion(capsys):
    with pytest.raises(SystemExit) as e:
        _parser().parse_args(["-qcc", "qc"])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.count("\n") == 1 and "usage" not in err
    assert "unrecognized arguments: -qcc qc; did you mean `-qc`?" in err
    with pytest.raises(SystemExit):
        _parser().parse_args(["-size", "nan"])
    assert "argument -size: expected a finite number, got 'nan'" in capsys.readouterr().err


def test_a_misspelt_flag_is_named_before_a_missing_required_one(capsys):
    """``-qcc`` without ``-i``: the misspelling is reported (with its suggestion), not ``-i``;
    negative numbers and abbreviations are values and flags, not misspellings."""
    p = _parser()
    p.mandatory.add_argument("-i", metavar="<file>", required=True)
    with pytest.raises(SystemExit) as e:
        p.parse_args(["-qcc", "qc", "-size", "3"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert "unrecognized arguments: -qcc; did you mean `-qc`?" in err and "-i" not in err.split("(see")[0]
    with pytest.raises(SystemExit):
        p.parse_args(["-size", "3", "-v", "1"])
    assert "the following arguments are required: -i" in capsys.readouterr().err
    assert p._unknown_flags() == []
    p._raw_args = ["-siz", "3", "-5", "-1e-3", "-qc=x", "-x"]
    assert p._unknown_flags() == (["-x"] if p.allow_abbrev else ["-siz", "-x"])


def test_library_errors_become_sentences():
    import numpy as np

    try:
        np.zeros((3, 4)) + np.zeros((5,))
    except ValueError as e:
        assert cli.user_message(e) == ("The images do not have the same dimensions ((3,4) vs (5,)): "
                                       "use images on the same grid")
    assert "Not enough memory" in cli.user_message(MemoryError())
    assert cli.user_message(PermissionError(13, "Permission denied", "/x/out.nii.gz")).startswith(
        "Permission denied: /x/out.nii.gz")
    assert cli.user_message(KeyError("dim")).startswith("Unexpected internal error (KeyError")


def test_refuse_together():
    with pytest.raises(cli.SCTError, match="-vertfile and -discfile cannot be used together"):
        cli.refuse_together(argparse.Namespace(vertfile="a", discfile="b"), "-vertfile", "-discfile")


def test_library_info_noise_is_hidden_below_debug(capsys):
    import logging

    cli.set_loglevel(1)
    logging.getLogger("numexpr.utils").info("NumExpr defaulting to 2 threads.")
    logging.getLogger("matplotlib.font_manager").info("generated new fontManager")
    logging.getLogger("spinalcordtoolbox.x").info("our own step")
    out = capsys.readouterr().out
    assert out == "our own step\n"


def test_broken_pipe_exits_quietly(sct_testing_data):
    t2 = sct_testing_data / "t2" / "t2.nii.gz"
    cmd = f"'{sys.executable}' -m spinalcordtoolbox.scripts.sct_image -i '{t2}' -header | head -1"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=_env())
    assert r.returncode == 0 and r.stderr == "" and r.stdout.count("\n") == 1


# ------------------------------------------------------------------ data, offline, installation
def test_download_never_replaces_a_users_file(tmp_path):
    """(Merging into a user's non-empty folder: testing/api/core/test_download.py.)"""
    from spinalcordtoolbox.download import DownloadError, install_asset

    target = tmp_path / "t2.nii.gz"
    target.write_bytes(b"data")
    with pytest.raises(DownloadError, match="it is a file"):
        install_asset("PAM50", target)
    assert target.read_bytes() == b"data"


def test_newcomer_offline_without_data_gets_one_line(tmp_path):
    """The README's example with no data beside the checkout, no mirror and no network."""
    empty = tmp_path / "empty"
    empty.mkdir()
    dead = "http://127.0.0.1:9"  # nothing listens there: every connection is refused at once
    env = _env(SCT_SHARED_DATA=str(empty), SCT_DATA_MIRROR=str(empty), SCT_DATA_DIR=str(empty / "cache"),
               HTTPS_PROXY=dead, HTTP_PROXY=dead, https_proxy=dead, http_proxy=dead, NO_PROXY="", no_proxy="")
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "run_example.py"), str(tmp_path / "out")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "sct_download_data -d sct_testing_data" in lines[0] and "SCT_DATA_MIRROR" in lines[0]
    assert not (tmp_path / "out").exists()


def test_check_dependencies_is_light_and_names_the_data(tmp_path):
    code = textwrap.dedent("""
        import sys
        from spinalcordtoolbox.system import check_dependencies
        lines, ok = check_dependencies()
        print("\\n".join(lines))
        print("HEAVY:", sorted(m for m in ("torch", "ants", "dipy", "nnunetv2", "pandas") if m in sys.modules))
    """)
    mirror = tmp_path / "mirror"
    (mirror / "sct_testing_data").mkdir(parents=True)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=_env(SCT_DATA_MIRROR=str(mirror), SCT_DIR=str(REPO), SCT_DATA_DIR=str(tmp_path / "c")))
    out = r.stdout
    assert "HEAVY: []" in out
    assert f"SCT_DIR: {REPO}" in out and f"Data folder: {tmp_path / 'c'}" in out
    assert f"[OK]   sct_testing_data: available from the mirror {mirror / 'sct_testing_data'}" in out


def test_qc_rerun_replaces_its_entry_and_leaves_no_lock(sct_testing_data, tmp_path):
    from spinalcordtoolbox.reports import records
    from spinalcordtoolbox.reports.qc import generate_qc

    t2 = sct_testing_data / "t2"
    qc = tmp_path / "qc"
    first = generate_qc(t2 / "t2.nii.gz", qc, process="sct_deepseg_sc", seg=t2 / "t2_seg-manual.nii.gz",
                        command_line="sct_deepseg_sc -i t2.nii.gz -c t2")
    time.sleep(1.1)  # a re-run, not a parallel twin (those are both kept)
    second = generate_qc(t2 / "t2.nii.gz", qc, process="sct_deepseg_sc", seg=t2 / "t2_seg-manual.nii.gz",
                         command_line="sct_deepseg_sc -i t2.nii.gz -c t2")
    entries = records.read_index(qc)
    assert [e["id"] for e in entries] == [second.relative_to(qc).as_posix()] and not first.exists()
    assert not list(qc.rglob("*.lock")) and not list(qc.rglob(".*lock*"))


def test_qc_entry_of_an_image_without_path_is_named_from_the_source(sct_testing_data, tmp_path):
    """Template-space views (sct_register_to_template) name dataset/subject/contrast from -i."""
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.reports import records
    from spinalcordtoolbox.reports.qc import generate_qc

    src = sct_testing_data / "t2" / "t2.nii.gz"
    im = Image(src)
    fixed = Image(im.data, hdr=im.hdr, affine=im.affine)  # in memory: no path
    generate_qc(fixed, tmp_path, image2=fixed, process="sct_register_to_template", source=src)
    (entry,) = records.read_index(tmp_path)
    assert (entry["dataset"], entry["subject"], entry["contrast"]) == (
        src.parents[2].name, src.parents[1].name, "t2")


def test_failed_command_leaves_no_qc_entry(sct_testing_data, tmp_path, capsys):
    from spinalcordtoolbox.reports.qc import generate_qc

    t2 = sct_testing_data / "t2"
    qc = tmp_path / "qc"

    def work(args):
        generate_qc(t2 / "t2.nii.gz", qc, process="sct_deepseg_sc", seg=t2 / "t2_seg-manual.nii.gz")
        raise RuntimeError("a step after the QC failed")

    with pytest.raises(SystemExit):
        cli.run_command(_parser(), work, [])
    assert not qc.exists() or not list(qc.rglob("entry.json"))
    assert not [p for p in qc.rglob("*") if p.is_dir() and "sct_deepseg_sc" in p.parts]


# ------------------------------------------------------------------ NaN/Inf rule
def test_nonfinite_rule_applies_to_the_command_inputs_only(tmp_path, capsys):
    """refuse / zero / keep for the files given to a command; other files are read as they are;
    a result NaN/Inf everywhere is not written."""
    import numpy as np

    from spinalcordtoolbox.image import Image, ImageError

    data = np.ones((4, 4, 4), np.float32)
    data[1, 1, 1], data[2, 2, 2] = np.nan, -np.inf
    given, other = tmp_path / "given.nii.gz", tmp_path / "other.nii.gz"
    Image(data).save(given, verbose=False)
    Image(data).save(other, verbose=False)

    def run(rule):
        p = cli.SCTArgumentParser(description="test", allow_no_args=True)
        p.optional.add_argument("-i", type=cli.input_file)
        p.add_common_args()
        seen = {}
        cli.run_command(p, lambda a: seen.update(i=Image(a.i).data, o=Image(other).data), ["-i", str(given)],
                        nonfinite=rule)
        return seen

    with pytest.raises(SystemExit):
        run("refuse")
    assert capsys.readouterr().err.startswith(f"ERROR: {given} has 2 NaN/Inf voxel(s) of 64: this command")
    seen = run({"-i": "zero"})
    assert np.isfinite(seen["i"]).all() and seen["i"].sum() == 62
    assert np.count_nonzero(~np.isfinite(seen["o"])) == 2     # not an input of the command
    assert "has 2 NaN/Inf voxel(s) of 64: they are read as 0" in capsys.readouterr().out
    assert np.count_nonzero(~np.isfinite(run("keep")["i"])) == 2
    assert np.count_nonzero(~np.isfinite(Image(given).data)) == 2  # outside a command: as stored
    with pytest.raises(ImageError, match="NaN/Inf in every voxel"):
        Image(np.full((3, 3, 3), np.nan)).save(tmp_path / "undefined.nii.gz")
    assert not (tmp_path / "undefined.nii.gz").exists()
