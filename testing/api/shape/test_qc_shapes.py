"""Shapes on QC mosaics: the ellipse fitted by process_seg, drawn by reports.render, lands on
the segmentation's boundary in the overlay PNG."""
import math

import numpy as np
import pytest

from spinalcordtoolbox.image import Image
from spinalcordtoolbox.shape.morphometry import QC_ELLIPSE_COLOUR, QC_RL_COLOUR, qc_shapes
from spinalcordtoolbox.shape.process_seg import compute_shape
from spinalcordtoolbox.reports import views
from spinalcordtoolbox.reports.qc import generate_qc

RES = views.QC_RESOLUTION_MM
TILE = int(round(views.AXIAL_FOV_MM / RES))
# analytic cord section: semi-axes 6 mm and 3.5 mm, major axis 30 deg from right-left,
# on 0.4 x 0.4 x 1 mm voxels (not the mosaic's 0.5 mm: the overlay is resampled)
A, B, THETA, PIX = 6.0, 3.5, math.radians(30), (0.4, 0.4, 1.0)


def _rgb(hex_colour):
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])


def _pixels_of(png, hex_colour, tol=5):
    """(row, col) of the opaque overlay pixels of a colour (lines are drawn opaque, aliased)."""
    rgb = png[..., :3].astype(int)
    close = np.abs(rgb - _rgb(hex_colour)).max(axis=-1) <= tol
    return np.argwhere(close & (png[..., 3] > 200))


@pytest.fixture(scope="module")
def ellipse_entry(tmp_path_factory):
    n = 60
    x, y = np.meshgrid((np.arange(n) - 29.3) * PIX[0], (np.arange(n) - 30.1) * PIX[1], indexing="ij")
    u = x * math.cos(THETA) + y * math.sin(THETA)
    v = -x * math.sin(THETA) + y * math.cos(THETA)
    section = ((u / A) ** 2 + (v / B) ** 2 <= 1).astype(np.uint8)
    seg = Image(np.repeat(section[:, :, None], 6, axis=2), affine=np.diag([-PIX[0], PIX[1], PIX[2], 1.0]))
    seg.change_orientation("AIL")  # shapes travel in world coordinates: any orientation works
    metrics, _, ellipses = compute_shape(seg, progress=False, return_ellipses=True)
    background = Image(seg.data.astype(np.float32) * 100, hdr=seg.hdr, affine=seg.affine)
    folder = generate_qc(background, tmp_path_factory.mktemp("qc"), process="sct_process_segmentation",
                         seg=seg, shapes=qc_shapes(ellipses), subject="sub-ellipse")
    from PIL import Image as PILImage
    with PILImage.open(folder / "overlay.png") as png:
        return metrics, np.asarray(png.convert("RGBA"))


def test_drawn_ellipse_lies_on_the_segmentation_boundary(ellipse_entry):
    metrics, png = ellipse_entry
    assert png.shape[:2] == (TILE, 6 * TILE)  # 6 slices, one row of 80-pixel tiles
    # the fitted diameters of a rasterised ellipse: 2A and 2B within 1 % (measured 0.1 %)
    np.testing.assert_allclose(metrics["diameter_RL"], 2 * A, rtol=0.01)
    np.testing.assert_allclose(metrics["diameter_AP_ellipse"], 2 * B, rtol=0.01)
    # analytic boundary in tile pixels: tiles are centred on the cord's centre of mass (the
    # ellipse's centre), column = +x (RPI) / 0.5 mm, row = -y / 0.5 mm (anterior up)
    t = np.linspace(0, 2 * math.pi, 2000)
    bx = A * np.cos(t) * math.cos(THETA) - B * np.sin(t) * math.sin(THETA)
    by = A * np.cos(t) * math.sin(THETA) + B * np.sin(t) * math.cos(THETA)
    curve = np.column_stack([-by / RES, bx / RES]) + (TILE - 1) / 2
    below_labels = 2 * views.LABEL_LINE_PX + 2  # the two labels sit in the tile's top rows
    for k in range(6):
        tile = png[:, k * TILE:(k + 1) * TILE]
        drawn = _pixels_of(tile, QC_ELLIPSE_COLOUR)
        assert len(drawn) > 40  # perimeter ~ 62 px
        dist = np.sqrt(((drawn[:, None, :] - curve[None, :, :]) ** 2).sum(-1))
        # every drawn pixel is on the boundary (measured max 0.61 px, mean 0.29 px: rounding
        # to pixel centres), and the whole boundary is drawn (measured max gap 0.71 px)
        assert dist.min(axis=1).max() <= 1.0
        assert dist.min(axis=0).max() <= 1.0
        # the RL diameter is the major axis through the centre: its pixels lie on the line at
        # 30 deg (display: row = -y) and span 2 * 6 mm = 24 px, less the end pixels that the
        # outline, drawn last, covers (measured 21.95 px)
        rl = _pixels_of(tile[below_labels:], QC_RL_COLOUR) + [below_labels, 0]
        rel = rl - (TILE - 1) / 2
        off_axis = np.abs(rel[:, 1] * math.sin(THETA) + rel[:, 0] * math.cos(THETA))
        assert off_axis.max() <= 0.75
        span = np.sqrt(((rl[:, None, :] - rl[None, :, :]) ** 2).sum(-1)).max()
        assert 2 * A / RES - 3 <= span <= 2 * A / RES + 1


def test_ellipse_of_a_tilted_cord_is_drawn_as_its_axial_section():
    # binary tube of radius 4 mm tilted 30 deg towards +x (0.5 mm in-plane voxels, 1 mm slices):
    # diameters are measured orthogonally to the cord (2r = 8 mm), while the ellipse given for
    # drawing is the axial section: semi-axis r / cos(30) = 4.62 mm along x, r along y
    r, tilt = 4.0, math.radians(30)
    x, y, z = np.meshgrid((np.arange(64) - 31.5) * 0.5, (np.arange(30) - 14.5) * 0.5,
                          np.arange(12) - 5.5, indexing="ij")
    # squared distance to the axis (sin t, 0, cos t): |p x axis|^2
    d2 = y ** 2 + (x * math.cos(tilt) - z * math.sin(tilt)) ** 2
    seg = Image((d2 <= r ** 2).astype(np.uint8), affine=np.diag([-0.5, 0.5, 1.0, 1.0]))
    metrics, _, ellipses = compute_shape(seg, progress=False, return_ellipses=True)
    inner = sorted(ellipses)[2:-2]  # the tube's cut ends are not a full section
    assert len(inner) >= 6
    for z in inner:
        e = ellipses[z]
        # measured: diameters 7.93 to 8.11 mm, semi-axes 4.58 to 4.61 mm and 4.01 to 4.05 mm
        assert abs(e.diameter_rl - 2 * r) < 0.25 and abs(e.diameter_ap - 2 * r) < 0.25
        rl, ap = sorted([e.semi_rl, e.semi_ap], key=lambda v: -abs(v[0]))  # the x-wise one first
        assert abs(np.linalg.norm(rl) - r / math.cos(tilt)) < 0.15
        assert abs(np.linalg.norm(ap) - r) < 0.15
        assert abs(rl[1]) < 0.05 and abs(ap[0]) < 0.05 and rl[2] == 0 and ap[2] == 0
