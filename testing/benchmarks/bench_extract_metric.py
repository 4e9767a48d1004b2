"""Wall time of sct_extract_metric -method ml over all atlas labels on mt/mtr.nii.gz (run by hand:
python testing/benchmarks/bench_extract_metric.py). The established toolbox takes 1.5 s, most of it
start-up. Also reports the in-process time of the estimation alone."""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import timed

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="Runs (default 7)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from spinalcordtoolbox.download import find_data
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics.extract_metric import extract_metric

    mt = find_data("sct_testing_data") / "mt"
    os.environ["PYTHONPATH"] = str(REPO)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(BIN / "sct_extract_metric"), "-i", str(mt / "mtr.nii.gz"), "-f", str(mt / "label" / "atlas"),
               "-method", "ml", "-o", os.path.join(tmp, "ml.csv"), "-v", "0"]
        med, lo, _ = timed(cmd, args.n)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"sct_extract_metric -method ml (37 labels x 5 slices): median {med:.3f} s (min {lo:.3f}, n={args.n})")
    im = Image(str(mt / "mtr.nii.gz"))
    extract_metric(im, mt / "label" / "atlas", method="ml", z="0:4")   # imports, file cache
    t0 = time.perf_counter()
    rows = extract_metric(im, mt / "label" / "atlas", method="ml", z="0:4")
    print(f"in-process extract_metric (ml, 37 labels, -z 0:4): {time.perf_counter() - t0:.3f} s, "
          f"{len(rows)} rows")


if __name__ == "__main__":
    main()
