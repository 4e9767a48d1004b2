"""Benchmark: sct_propseg robustness set built from sct_testing_data (issue 13).

Every contrast with a manual cord segmentation (t2, t1w, t2s, mt1) is turned into variants:
native; thick axial slices (5 mm, in-plane unchanged); a cropped field of view (the middle
60 % in-plane and half of the slices); stored in other orientations (LAS, PIR, SAL); Gaussian
noise (sigma = 8 % of the 99th percentile); a multiplicative bias field (0.6 to 1.4 across the
field of view). The manual segmentation goes through the same transformation (nearest
neighbour for the thick slices: a slice is cord where its centre is). Prints one line per
case: found or not, Dice with the manual segmentation, seconds.

Run by hand: ``python testing/benchmarks/bench_propseg_robustness.py [--cases t2,mt1]
[--variants native,crop] [--no-cnn]``.
"""
import argparse
import time

import numpy as np

CONTRASTS = {  # name: (image, manual segmentation, -c)
    "t2": ("t2/t2.nii.gz", "t2/t2_seg-manual.nii.gz", "t2"),
    "t1w": ("t1/t1w.nii.gz", "t1/t1w_seg-manual.nii.gz", "t1"),
    "t2s": ("t2s/t2s.nii.gz", "t2s/t2s_seg.nii.gz", "t2s"),
    "mt1": ("mt/mt1.nii.gz", "mt/mt1_seg.nii.gz", "t2s"),
}
VARIANTS = ("native", "thick5mm", "crop", "LAS", "PIR", "SAL", "noise", "bias")


def make_variant(im, gt, variant, rng):
    """(image, manual segmentation) for one variant; both in RPI except the orientation ones."""
    from spinalcordtoolbox.image import crop_image
    from spinalcordtoolbox.resampling import resample_image

    im, gt = im.copy().change_orientation("RPI"), gt.copy().change_orientation("RPI")
    im.data = im.data.astype(np.float32)
    if variant == "thick5mm":
        if im.pixdim[2] >= 4.5:
            return None  # already thick
        mm = [float(im.pixdim[0]), float(im.pixdim[1]), 5.0]
        return (resample_image(im, mm=mm, interpolation="linear"),
                resample_image(gt, mm=mm, interpolation="nn"))
    if variant == "crop":
        nx, ny, nz = im.data.shape
        b = (int(0.2 * nx), int(0.8 * nx) - 1, int(0.2 * ny), int(0.8 * ny) - 1, nz // 4, nz // 4 + max(nz // 2, 2) - 1)
        return crop_image(im, *b), crop_image(gt, *b)
    if variant in ("LAS", "PIR", "SAL"):
        return im.change_orientation(variant), gt.change_orientation(variant)
    if variant == "noise":
        im.data = im.data + rng.normal(0, 0.08 * np.percentile(im.data, 99), im.data.shape).astype(np.float32)
    if variant == "bias":
        nx, ny, _ = im.data.shape
        ramp = 0.6 + 0.8 * (np.arange(nx)[:, None] / max(nx - 1, 1) + np.arange(ny)[None, :] / max(ny - 1, 1)) / 2
        im.data = im.data * ramp[:, :, None].astype(np.float32)
    return im, gt


def run(cases, use_cnn=True, variants=VARIANTS):
    from spinalcordtoolbox.download import find_data
    from spinalcordtoolbox.image import Image
    from spinalcordtoolbox.metrics_similarity import dice
    from spinalcordtoolbox.propseg.core import propseg

    data = find_data("sct_testing_data")
    rng = np.random.default_rng(0)
    rows = []
    for name in cases:
        image, manual, contrast = CONTRASTS[name]
        im, gt = Image(str(data / image)), Image(str(data / manual))
        for variant in variants:
            pair = make_variant(im, gt, variant, rng)
            if pair is None:
                continue
            vim, vgt = pair
            start = time.perf_counter()
            try:
                seg, _ = propseg(vim, contrast, use_cnn=use_cnn)
                d, found = dice(seg.data > 0, vgt.data > 0.5), True
            except ValueError as e:  # NoCordError, or a contrast that needs an initialisation
                d, found = 0.0, False
                print(f"   ({e})")
            rows.append((name, variant, found, d, time.perf_counter() - start))
            print(f"{name:5s} {variant:9s} found={found!s:5s} dice={d:.3f} {rows[-1][4]:.1f} s", flush=True)
    ok = [r for r in rows if r[2]]
    good = [r for r in rows if r[3] >= 0.85]
    print(f"found {len(ok)}/{len(rows)}; Dice >= 0.85 on {len(good)}/{len(rows)} "
          f"({100 * len(good) / max(len(rows), 1):.0f} %)")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", default=",".join(CONTRASTS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--no-cnn", action="store_true")
    args = parser.parse_args()
    run(args.cases.split(","), use_cnn=not args.no_cnn, variants=args.variants.split(","))


if __name__ == "__main__":
    main()
