"""Temporal signal-to-noise ratio of a 4-D series: mean over time / standard deviation over time.

The standard deviation is the sample one (n - 1 in the denominator), as the established
toolbox computes it. Where the signal is constant over time (std = 0, e.g. zero background)
the tSNR is undefined: it is written as 0 there (the established toolbox writes NaN, which
breaks averages and viewers' windowing).
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image, empty_like


def compute_tsnr(im: Image) -> Image:
    """tSNR map (float32, on ``im``'s 3-D grid) of the 4-D ``im`` (at least 2 volumes)."""
    im.require_4d("fMRI series", min_volumes=2)
    data = im.data.astype(np.float64)
    mean = data.mean(axis=3)
    std = data.std(axis=3, ddof=1)
    tsnr = np.divide(mean, std, out=np.zeros_like(mean), where=std > 0)
    return empty_like(im, tsnr.astype(np.float32))
