"""Wall time of sct_analyze_texture on t2 with its mask, all six features, 4 angles (run by hand:
python testing/benchmarks/bench_texture.py). The established toolbox takes 17 s (target: < 1.7 s)."""
import os
import sys
import tempfile
from pathlib import Path

from bench_startup import timed

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def main():
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.download import find_data

    t2 = find_data("sct_testing_data") / "t2"
    os.environ["PYTHONPATH"] = str(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(BIN / "sct_analyze_texture"), "-i", str(t2 / "t2.nii.gz"), "-m",
               str(t2 / "t2_seg-manual.nii.gz"), "-ofolder", tmp, "-v", "0"]
        med, lo, _ = timed(cmd, 5)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"sct_analyze_texture t2 (6 features x 4 angles): median {med:.2f} s (min {lo:.2f} s, n=5)")


if __name__ == "__main__":
    main()
