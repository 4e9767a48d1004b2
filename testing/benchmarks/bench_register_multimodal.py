"""Wall time and peak memory of the registration commands on sct_testing_data (run by hand).

    ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=2 .venv/bin/python testing/benchmarks/bench_register_multimodal.py

Each command runs in its own process (start-up included); peak memory = max RSS of that child.
"""
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run(cmd, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.time()
    subprocess.run([str(BIN / cmd[0])] + cmd[1:] + ["-v", "0"], cwd=cwd, check=True)
    wall = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main():
    from spinalcordtoolbox.download import find_data
    d = find_data("sct_testing_data")
    cases = {
        "apply_transfo template cord -> t2 (linear)": [
            "sct_apply_transfo", "-i", f"{d}/template/template/PAM50_small_cord.nii.gz",
            "-d", f"{d}/t2/t2.nii.gz", "-w", f"{d}/t2/warp_template2anat.nii.gz", "-x", "linear"],
        "register_multimodal mt0 -> mt1 slicereg CC": [
            "sct_register_multimodal", "-i", f"{d}/mt/mt0.nii.gz", "-d", f"{d}/mt/mt1.nii.gz",
            "-dseg", f"{d}/mt/mt1_seg.nii.gz", "-param", "step=1,type=im,algo=slicereg,metric=CC"],
        "register_multimodal t2 -> mt1 centermass + bsplinesyn": [
            "sct_register_multimodal", "-i", f"{d}/t2/t2.nii.gz", "-iseg", f"{d}/t2/t2_seg-manual.nii.gz",
            "-d", f"{d}/mt/mt1.nii.gz", "-dseg", f"{d}/mt/mt1_seg.nii.gz", "-param",
            "step=1,type=seg,algo=centermass:step=2,type=seg,algo=bsplinesyn,metric=MeanSquares,iter=5"],
    }
    os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "2")
    for name, cmd in cases.items():
        with tempfile.TemporaryDirectory() as tmp:
            wall, peak = run(cmd, tmp)
        print(f"{name:60s} {wall:6.1f} s  peak {peak:6.0f} MB (max so far)")


if __name__ == "__main__":
    main()
