"""QC of motion correction: one axial slice of every volume, before and after, toggled in the
report (the established toolbox's per-volume before/after mosaic)."""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.image import Image


def _volume_stack(series: Image, z: int) -> Image:
    """(nx, ny, n_volumes) RPI image: slice ``z`` of every volume, one volume per 'slice'."""
    data = np.ascontiguousarray(series.data[:, :, z, :]).astype(np.float32)
    affine = series.affine.copy()
    affine[:3, 3] = series.transfo_pix2phys([[0, 0, z]])[0]
    return Image(data, affine=affine)


def moco_qc(before: Image, after: Image, qc_folder, process, seg: Image | None = None,
            command_line=None, dataset=None, subject=None):
    """Add a before/after entry to the QC report: the axial slice at the middle of the cord
    (``seg``, on any grid) or of the volume, for every volume (tiles in volume order)."""
    from spinalcordtoolbox.reports.qc import generate_qc
    from spinalcordtoolbox.resampling import resample_to_grid

    b = Image(before.data, hdr=before.hdr, affine=before.affine).change_orientation("RPI")
    a = Image(after.data, hdr=after.hdr, affine=after.affine).change_orientation("RPI")
    nz = b.data.shape[2]
    seg_stack = None
    z = nz // 2
    if seg is not None:
        s = resample_to_grid(seg, before.data.shape[:3], before.affine, interpolation="linear")
        s.change_orientation("RPI")
        area = (s.data > 0.5).sum(axis=(0, 1))
        if area.any():
            present = np.flatnonzero(area)
            z = int(present[len(present) // 2])
            seg_stack = Image(np.repeat((s.data[:, :, z:z + 1] > 0.5).astype(np.uint8), b.data.shape[3], axis=2),
                              affine=_volume_stack(b, z).affine)
    im_b, im_a = _volume_stack(b, z), _volume_stack(a, z)
    # tiles go from the last 'slice' to the first: reverse so that volume 0 comes first
    for im in (im_b, im_a) + ((seg_stack,) if seg_stack is not None else ()):
        im.data = np.ascontiguousarray(im.data[:, :, ::-1])
    im_b.absolutepath = before.absolutepath
    return generate_qc(im_b, qc_folder, process=process, seg=seg_stack, image2=im_a, plane="axial",
                       command_line=command_line, dataset=dataset, subject=subject)
