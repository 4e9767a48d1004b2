"""Find the spinal cord in an image with no trained model: a cord/CSF ring detector + dynamic programming.

In every axial slice the cord is a roughly elliptical region (radius ~4 mm) surrounded by
cerebrospinal fluid, which is brighter than the cord in T2/T2*-weighted images and darker in
T1-weighted and diffusion images. The detector scores each pixel as a cord centre by comparing
the mean intensity in a disc around it with the brightest CSF found in 8 angular sectors of a
ring around that disc; the *second weakest* sector is kept, so the cord must be surrounded
(CSF may be missing on one side only, e.g. where the cord touches the canal). Three scales
(0.8, 1, 1.25 x the radius) cover small and large cords. The centre per slice is then the
path maximising the summed score under a bound on how far the cord moves between slices
(a Viterbi / dynamic-programming search), so one bad slice cannot pull the centerline away.
"""
from __future__ import annotations

import numpy as np

#: +1 where CSF is brighter than the cord, -1 where darker
POLARITY = {"t1": -1, "t2": 1, "t2s": 1, "dwi": -1}


def _sector_footprints(px: float, py: float, radius: float):
    r_out = 1.9 * radius
    nx, ny = int(np.ceil(r_out / px)), int(np.ceil(r_out / py))
    xx, yy = np.mgrid[-nx:nx + 1, -ny:ny + 1]
    xx, yy = xx * px, yy * py
    r = np.hypot(xx, yy)
    th = np.arctan2(yy, xx)
    inner = (r <= 0.62 * radius).astype(float)
    inner /= inner.sum()
    sectors = []
    for k in range(8):
        a0 = -np.pi + k * np.pi / 4
        fp = (r >= radius) & (r <= r_out) & (th >= a0) & (th < a0 + np.pi / 4)
        if fp.any():
            sectors.append(fp)
    return inner, sectors


def cord_score(slice2d: np.ndarray, pixdim, polarity: int, radius=4.0) -> np.ndarray:
    """Score of each pixel of an axial slice (RPI) as the centre of a cord of about ``radius`` mm."""
    from scipy import ndimage
    from scipy.signal import fftconvolve

    scale = np.percentile(np.abs(slice2d), 99) or 1.0
    img = polarity * slice2d.astype(float) / scale
    best = None
    for s in (0.8, 1.0, 1.25):
        inner, sectors = _sector_footprints(pixdim[0], pixdim[1], radius * s)
        centre = fftconvolve(img, inner, mode="same")
        ring = [ndimage.maximum_filter(img, footprint=fp, mode="constant", cval=-10.0) - centre
                for fp in sectors]
        score = np.sort(np.stack(ring), axis=0)[1]
        best = score if best is None else np.maximum(best, score)
    return best


def best_path(score: np.ndarray, pixdim, max_step_mm: float) -> np.ndarray:
    """(nz, 2) voxel positions maximising the summed score, moving <= max_step_mm between slices."""
    nx, ny, nz = score.shape
    sx = max(1, int(np.ceil(max_step_mm / pixdim[0])))
    sy = max(1, int(np.ceil(max_step_mm / pixdim[1])))
    offsets = [(dx, dy) for dx in range(-sx, sx + 1) for dy in range(-sy, sy + 1)
               if (dx * pixdim[0]) ** 2 + (dy * pixdim[1]) ** 2 <= max_step_mm ** 2 + 1e-9]
    total = score[:, :, 0].copy()
    back = np.zeros((nz, nx, ny), dtype=np.int32)
    for z in range(1, nz):
        padded = np.pad(total, ((sx, sx), (sy, sy)), constant_values=-np.inf)
        best = np.full((nx, ny), -np.inf)
        for i, (dx, dy) in enumerate(offsets):
            # small penalty on moving: among equal scores prefer a straight cord
            cand = padded[sx + dx:sx + dx + nx, sy + dy:sy + dy + ny] - 1e-3 * (dx * dx + dy * dy)
            better = cand > best
            best[better] = cand[better]
            back[z][better] = i
        total = best + score[:, :, z]
    x, y = np.unravel_index(int(np.argmax(total)), total.shape)
    path = [(x, y)]
    for z in range(nz - 1, 0, -1):
        dx, dy = offsets[back[z, x, y]]
        x, y = x + dx, y + dy
        path.append((x, y))
    return np.array(path[::-1], dtype=float)


def detect_cord_centres(data: np.ndarray, pixdim, contrast: str, radius=4.0, anchors=None):
    """Cord centre per axial slice of an RPI volume, and the detector score along it.

    ``anchors``: {slice: (x, y)} known centres (from ``-init-mask`` / ``-init``) that the
    path must pass near. Returns ((nz, 2) centres in voxels, (nz,) scores).
    """
    from spinalcordtoolbox.utils.cli import progress_bar

    polarity = POLARITY[contrast]
    score = np.stack([cord_score(data[:, :, z], pixdim, polarity, radius)
                      for z in progress_bar(range(data.shape[2]), desc="Cord detection", unit="slice")], axis=-1)
    if anchors:
        gx, gy = np.mgrid[0:data.shape[0], 0:data.shape[1]]
        for z, (x, y) in anchors.items():
            d2 = ((gx - x) * pixdim[0]) ** 2 + ((gy - y) * pixdim[1]) ** 2
            score[:, :, z] = np.where(d2 <= (radius / 2) ** 2, score[:, :, z] + 10.0, score[:, :, z])
    path = best_path(score, pixdim, max_step_mm=max(1.5, 0.6 * pixdim[2]))
    along = score[path[:, 0].astype(int), path[:, 1].astype(int), np.arange(data.shape[2])]
    if anchors:
        along = np.where(along > 5, along - 10.0, along)
    return path, along
