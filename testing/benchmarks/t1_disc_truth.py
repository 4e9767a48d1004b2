"""Where the discs are on t1/t1w and t2/t2 (the image itself) against the t1 labeling and the
t2 manual level changes: the figures behind the t1 rows of docs/validation.md (issue 9)
(run by hand, not by pytest).

    SCT_DATA_MIRROR=../shared/data .venv/bin/python testing/benchmarks/t1_disc_truth.py

For each disc, the world z (mm) of the intensity maximum of the disc (bright on both contrasts)
in the mid-sagittal band (5 mm right-left around the cord centre) of each A-P column behind the
vertebral bodies, sub-voxel by a parabola; then the discs the labeling finds on t1 (no init, its
init file) and the t2 manual level changes (t2_seg-manual_labeled, anatomical naming).
"""
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from spinalcordtoolbox.download import find_data  # noqa: E402
from spinalcordtoolbox.image import Image  # noqa: E402
from spinalcordtoolbox.labeling import vertebrae as V  # noqa: E402
from spinalcordtoolbox.registration.template import load_template  # noqa: E402

# world z search windows (mm) around each disc, wide enough for a 3 mm error either way
WINDOWS = {3: (26, 40), 4: (7, 22), 5: (-10, 5), 6: (-22, -11)}
# world A-P (mm) just in front of the canal, behind the bodies; on t2 the anterior CSF (bright)
# reaches y = 12, so only its columns 14-18 see the discs
COLUMNS = range(8, 20, 2)


def disc_peaks(img: Image, seg: Image):
    rpi, cord = img.copy().change_orientation("RPI"), seg.copy().change_orientation("RPI")
    xc = int(round(np.argwhere(cord.data > 0)[:, 0].mean()))
    band = ndi.gaussian_filter(rpi.data[xc - 2:xc + 3].astype(float).mean(axis=0), 0.7)  # (y, z)
    ys = rpi.transfo_pix2phys([[xc, j, 0] for j in range(band.shape[0])])[:, 1]
    zs = rpi.transfo_pix2phys([[xc, 0, k] for k in range(band.shape[1])])[:, 2]
    out = {}
    for v, (lo, hi) in WINDOWS.items():
        ks = np.nonzero((zs >= lo) & (zs <= hi))[0]
        if len(ks) < 5:
            continue
        row = []
        for y in COLUMNS:
            p = band[int(np.argmin(np.abs(ys - y))), ks]
            k = int(np.argmax(p))
            d = (p[k - 1] - p[k + 1]) / (2 * (p[k - 1] - 2 * p[k] + p[k + 1])) if 0 < k < len(p) - 1 else 0.0
            row.append(zs[ks[0]] + k + d)
        out[v] = np.round(row, 1)
    return out


def main():
    data = find_data("sct_testing_data")
    t1, t1s = (Image(str(data / "t1" / f)) for f in ("t1w.nii.gz", "t1w_seg-manual.nii.gz"))
    t2, t2s = (Image(str(data / "t2" / f)) for f in ("t2.nii.gz", "t2_seg-manual.nii.gz"))
    print(f"A-P columns (world y, mm): {list(COLUMNS)}")
    for name, (im, seg) in (("t1", (t1, t1s)), ("t2", (t2, t2s))):
        for v, row in disc_peaks(im, seg).items():
            print(f"{name} disc {v} intensity peak z per column: {row.tolist()}")
    lab = Image(str(data / "t2" / "t2_seg-manual_labeled.nii.gz")).change_orientation("RPI")
    level = {z: int(np.bincount(np.rint(lab.data[:, :, z][lab.data[:, :, z] > 0]).astype(int)).argmax())
             for z in range(lab.data.shape[2]) if lab.data[:, :, z].any()}
    zs = sorted(level)
    for z1, z2 in zip(zs, zs[1:]):
        if level[z1] != level[z2]:
            wz = lab.transfo_pix2phys([[0, 0, (z1 + z2) / 2]])[0][2]
            print(f"t2 manual level change {level[z2]}|{level[z1]} (disc {level[z1] + 1}, anatomical): z {wz:.2f}")
    template = load_template(find_data("PAM50"))
    d = data / "t1"
    for name, init in (("no init", None), ("init file", V.parse_init_text((d / "init_label_vertebrae.txt").read_text()))):
        res = V.label_vertebrae(t1, t1s, "t1", template, init=init)
        found = {v: round(float(np.interp(sv, res.curve.s, res.curve.points[:, 2])), 2)
                 for v, sv in res.detection.discs.items()}
        print(f"t1 {name}: discs found (world z on the centerline) {found}")


if __name__ == "__main__":
    main()
