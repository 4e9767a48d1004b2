"""Drawing QC views into PNG files: numpy and Pillow for images and segmentations, matplotlib's
Agg backend (no window, thread-safe) only where text is drawn (point labels, shape labels).

The background PNG is the grey image; the overlay PNG has the same size and is fully
transparent except where it draws (segmentation in colour, point labels as coloured dots
with their value, or the second image of a before/after pair, opaque), plus the shapes a
caller added to an axial view (opaque lines one pixel wide and their labels). The page stacks the two
and toggles the overlay.
"""
from __future__ import annotations

import numpy as np

from spinalcordtoolbox.utils.fs import atomic_output

#: Colour of a binary segmentation overlay (RGB 0-1) and its maximum opacity.
SEG_COLOUR = (1.0, 0.15, 0.1)
SEG_ALPHA = 0.55
#: Bright, distinct colours that read well on a grey MRI (label value modulo 10 picks one).
LABEL_COLOURS = ("#ff5a5f", "#ffb400", "#2fbf71", "#4c9bff", "#c77dff",
                 "#00d1c1", "#ff8c42", "#f15bb5", "#9ef01a", "#fee440")


def save_grey(array: np.ndarray, path):
    """Write a [0, 1] array as an 8-bit greyscale PNG of exactly the array's size.

    Written as a one-channel PNG with Pillow (matplotlib's own PNG writer) rather than
    matplotlib's RGBA ``imsave``: the same pixels in about half the bytes, which matters for
    reports of hundreds of subjects.
    """
    from PIL import Image as PILImage

    grey = np.rint(np.clip(np.nan_to_num(array), 0, 1) * 255).astype(np.uint8)
    with atomic_output(path) as tmp:
        PILImage.fromarray(grey).save(tmp, format="PNG", optimize=False)


def to_rgb(colour) -> tuple:
    """'#ff5a5f' or an (r, g, b) tuple in [0, 1] -> (r, g, b) in [0, 1] (no matplotlib import:
    segmentation entries, the most common, are drawn with numpy and Pillow only)."""
    if isinstance(colour, str):
        text = colour.lstrip("#")
        return tuple(int(text[i:i + 2], 16) / 255.0 for i in (0, 2, 4))
    return tuple(float(c) for c in colour[:3])


def mask_rgba(mask: np.ndarray) -> np.ndarray:
    """RGBA overlay of a segmentation: red for a binary/soft mask, one colour per value for
    a multi-label map (e.g. vertebral levels); transparent where the mask is 0."""
    rgba = np.zeros(mask.shape + (4,), dtype=np.float32)
    positive = mask[mask > 0]
    if positive.size == 0:
        return rgba
    if positive.max() <= 1.0:
        rgba[..., :3] = SEG_COLOUR
        rgba[..., 3] = np.clip(mask, 0, 1) * SEG_ALPHA
    else:
        # same colour per value as the point labels (level 3 looks the same everywhere)
        palette = np.array([to_rgb(c) for c in LABEL_COLOURS], dtype=np.float32)
        rgba[..., :3] = palette[np.rint(mask).astype(int) % len(LABEL_COLOURS)]
        rgba[..., 3] = np.where(mask > 0, SEG_ALPHA + 0.15, 0.0)
    return rgba


def save_rgba(rgba: np.ndarray, path):
    """Write a [0, 1] RGBA array as an 8-bit RGBA PNG (values truncated to 8 bits, as
    matplotlib's ``imsave`` does), with Pillow."""
    from PIL import Image as PILImage

    data = (np.clip(np.nan_to_num(rgba), 0, 1) * 255).astype(np.uint8)
    with atomic_output(path) as tmp:
        PILImage.fromarray(data, mode="RGBA").save(tmp, format="PNG", optimize=False)


def label_colour(value: float) -> str:
    """A stable, distinct colour per label value."""
    return LABEL_COLOURS[int(round(value)) % len(LABEL_COLOURS)]


def save_points(points, shape, path):
    """Transparent PNG of ``shape`` (height, width) with a dot and the value of each label."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height, width = shape
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    fig.patch.set_alpha(0)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.axis("off")
    ax.patch.set_alpha(0)
    radius = max(4.0, min(height, width) / 60)
    for row, col, value in points:
        colour = label_colour(value)
        ax.scatter([col], [row], s=(2 * radius) ** 2, color=colour, edgecolors="white", linewidths=1.5)
        text = f"{value:g}"
        ax.text(col + 1.8 * radius, row, text, color="black", fontsize=max(9, radius * 2.2),
                fontweight="bold", va="center", ha="left",
                bbox=dict(boxstyle="round,pad=0.2", facecolor=colour, edgecolor="none", alpha=0.85))
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=dpi, transparent=True, format="png")


#: Font size of shape labels, in pixels (fits a few labels in an 80-pixel axial tile).
SHAPE_FONT_PX = 8.5


def draw_polyline(rgba: np.ndarray, points: np.ndarray, colour, closed=False):
    """Draw a one-pixel, opaque, non-antialiased polyline into ``rgba`` (in place).

    ``points``: (N, 2) as (row, col), pixel centres at integers. Each segment is sampled every
    half pixel and each sample sets its nearest pixel, so the line is one pixel wide, keeps
    its full colour over the segmentation (an antialiased thin line blends into the red and
    turns grey) and every drawn pixel is within 0.71 px of the exact curve.
    """
    pts = np.asarray(points, dtype=float)
    if closed:
        pts = np.vstack([pts, pts[:1]])
    samples = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:]):
        n = max(2, int(np.ceil(2 * np.abs(b - a).max())) + 1)
        samples.append(a + np.linspace(0, 1, n)[1:, None] * (b - a))
    pix = np.rint(np.concatenate(samples)).astype(int)
    h, w = rgba.shape[:2]
    pix = pix[(pix[:, 0] >= 0) & (pix[:, 0] < h) & (pix[:, 1] >= 0) & (pix[:, 1] < w)]
    rgba[pix[:, 0], pix[:, 1], :3] = to_rgb(colour)
    rgba[pix[:, 0], pix[:, 1], 3] = 1.0


def save_rgba_with_shapes(rgba: np.ndarray, lines, texts, path):
    """The RGBA overlay ``rgba`` with polylines (:func:`draw_polyline`) and labels on top.

    ``lines``: (points (N, 2) as (row, col) pixel centres, colour, closed); ``texts``: (row,
    col, text, colour) anchored at their top-left, drawn by matplotlib with a dark outline.
    The overlay keeps exactly the size of ``rgba`` (placed pixel for pixel with ``figimage``).
    """
    rgba = np.array(rgba, dtype=np.float32)
    for pts, colour, closed in lines:
        draw_polyline(rgba, pts, colour, closed)
    if not texts:
        save_rgba(rgba, path)
        return
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height, width = rgba.shape[:2]
    dpi = 100
    fig = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    fig.patch.set_alpha(0)
    FigureCanvasAgg(fig)
    # below the axes: figure images are otherwise drawn over them
    fig.figimage(np.clip(rgba, 0, 1), xo=0, yo=0, origin="upper").set_zorder(-1)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.axis("off")
    ax.patch.set_alpha(0)
    points_per_px = 72.0 / dpi
    outline = [patheffects.withStroke(linewidth=2 * points_per_px, foreground="black")]
    for row, col, text, colour in texts:
        ax.text(col, row, text, color=colour, fontsize=SHAPE_FONT_PX * points_per_px, va="top",
                ha="left", path_effects=outline)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=dpi, transparent=True, format="png")


def draw_view(view, background_path, overlay_path) -> tuple[int, int]:
    """Write the background and overlay PNGs of a view; returns (width, height) in pixels."""
    save_grey(view.background, background_path)
    if view.second is not None:
        save_grey(view.second, overlay_path)
    elif view.points:
        save_points(view.points, view.background.shape, overlay_path)
    else:
        rgba = (mask_rgba(view.mask) if view.mask is not None
                else np.zeros(view.background.shape + (4,), dtype=np.float32))
        if view.lines or view.texts:
            save_rgba_with_shapes(rgba, view.lines, view.texts, overlay_path)
        else:
            save_rgba(rgba, overlay_path)
    height, width = view.background.shape
    return width, height
