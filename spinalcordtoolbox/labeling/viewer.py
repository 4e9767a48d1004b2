"""Interactive point labeling in a matplotlib window (``sct_label_utils -create-viewer``,
``sct_get_centerline -method viewer``): the manual fallback when automatic labeling fails.

The window shows one sagittal slice of the image (RPI). Controls:

- left click: place the next label at the clicked point (of the slice shown);
- ``u`` / ``backspace`` / right click: undo the last label;
- left / right arrows: previous / next sagittal slice;
- up / down arrows: more / less contrast (narrower / wider intensity window);
- ``enter`` or closing the window: finish (the labels placed are returned and saved).

:class:`LabelViewer` takes any matplotlib figure, so tests drive it headless with synthetic
events; :func:`pick_points` opens a real window and fails with a clear message when there is no
display.
"""
from __future__ import annotations

import logging
import os
import sys

import numpy as np

from spinalcordtoolbox.image import Image

logger = logging.getLogger(__name__)


class ViewerError(RuntimeError):
    """The interactive viewer cannot be used (no display...) or no label was placed."""


class LabelViewer:
    """Place point labels with given values (``values``; None: any number of value-1 points)."""

    def __init__(self, img: Image, values=None, message="", fig=None):
        import matplotlib.pyplot as plt

        self.img = img.copy().require_3d("image")
        self.rpi = self.img.copy().change_orientation("RPI")
        self.values = list(values) if values is not None else None
        self.points = []  # [(x, y, z) RPI voxel, value]
        self.finished = False
        data = np.asarray(self.rpi.data, dtype=np.float32)
        self.x = data.shape[0] // 2
        lo, hi = np.percentile(data, [1, 99.5])
        self.centre, self.width = (lo + hi) / 2, max(hi - lo, 1e-6)
        self.fig = fig if fig is not None else plt.figure(figsize=(7, 9))
        self.ax = self.fig.add_subplot(111)
        px = self.rpi.pixdim
        self.im = self.ax.imshow(data[self.x].T, cmap="gray", origin="lower",
                                 aspect=px[2] / px[1], interpolation="nearest")
        self.ax.set_xlabel("posterior -> anterior")
        self.ax.set_ylabel("inferior -> superior")
        self.message = message
        self._artists = []
        self._cids = [self.fig.canvas.mpl_connect(name, handler) for name, handler in (
            ("button_press_event", self.on_click), ("key_press_event", self.on_key),
            ("close_event", self.on_close))]
        self._refresh()

    # ------------------------------------------------------------ state
    @property
    def next_value(self):
        if self.values is None:
            return 1
        return self.values[len(self.points)] if len(self.points) < len(self.values) else None

    def _refresh(self):
        data = self.rpi.data
        self.im.set_data(np.asarray(data[self.x], dtype=np.float32).T)
        self.im.set_clim(self.centre - self.width / 2, self.centre + self.width / 2)
        for a in self._artists:
            a.remove()
        self._artists = []
        for (x, y, z), v in self.points:
            alpha = 1.0 if x == self.x else 0.4
            self._artists.append(self.ax.plot(y, z, "+", color="#ff3030", ms=12, mew=2, alpha=alpha)[0])
            self._artists.append(self.ax.text(y + 1.5, z, str(v), color="#ffd400", alpha=alpha))
        nxt = self.next_value
        status = (f"click label {nxt}" if nxt is not None else "all labels placed: close to save")
        self.ax.set_title(f"{self.message}\nSagittal slice {self.x}/{data.shape[0] - 1}: {status} "
                          f"(u: undo, arrows: slice/contrast)", fontsize=9)
        self.fig.canvas.draw_idle()

    # ------------------------------------------------------------ events
    def on_click(self, event):
        if event.inaxes is not self.ax or event.xdata is None:
            return
        if event.button == 3:
            self.undo()
            return
        if event.button != 1 or self.next_value is None:
            return
        shape = self.rpi.data.shape
        y = int(np.clip(round(event.xdata), 0, shape[1] - 1))
        z = int(np.clip(round(event.ydata), 0, shape[2] - 1))
        self.points.append(((self.x, y, z), self.next_value))
        self._refresh()

    def undo(self):
        if self.points:
            self.points.pop()
            self._refresh()

    def on_key(self, event):
        key = event.key or ""
        if key in ("u", "backspace", "ctrl+z"):
            self.undo()
        elif key in ("left", "right"):
            step = -1 if key == "left" else 1
            self.x = int(np.clip(self.x + step, 0, self.rpi.data.shape[0] - 1))
            self._refresh()
        elif key in ("up", "down"):
            self.width *= 0.8 if key == "up" else 1.25
            self._refresh()
        elif key == "enter":
            self.finished = True
            import matplotlib.pyplot as plt
            plt.close(self.fig)

    def on_close(self, event):
        self.finished = True

    # ------------------------------------------------------------ result
    def label_points(self):
        """[(x, y, z, value)] in voxel indices of the input image as stored."""
        if not self.points:
            return []
        rpi_vox = np.array([p for p, _ in self.points], float)
        world = self.rpi.transfo_pix2phys(rpi_vox)
        vox = np.rint(self.img.transfo_phys2pix(world)).astype(int)
        return [tuple(int(c) for c in v) + (val,) for v, (_, val) in zip(vox, self.points)]

    def label_image(self) -> Image:
        from spinalcordtoolbox.labeling.labels import create_labels
        pts = self.label_points()
        if not pts:
            raise ViewerError("No label was placed: nothing to save")
        return create_labels(self.img, pts)


def check_display():
    """Raise a clear error when no window can be opened."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    no_x = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                     or os.environ.get("WAYLAND_DISPLAY"))
    if backend in ("agg", "pdf", "ps", "svg", "cairo", "template") or "inline" in backend or no_x:
        raise ViewerError(
            "No display available for the interactive viewer (matplotlib backend "
            f"'{matplotlib.get_backend()}'{', no $DISPLAY' if no_x else ''}). Run it on a machine "
            "with a screen (or ssh -X), or place labels with sct_label_utils -create x,y,z,v.")


def pick_points(img: Image, values=None, message="") -> Image:
    """Open the viewer, wait until it is closed, return the labels placed (an Image)."""
    import matplotlib
    if matplotlib.get_backend().lower() == "agg" and "MPLBACKEND" not in os.environ:
        for candidate in ("QtAgg", "TkAgg"):
            try:
                matplotlib.use(candidate, force=True)
                break
            except Exception:  # backend not installed
                continue
    check_display()
    import matplotlib.pyplot as plt

    viewer = LabelViewer(img, values, message)
    plt.show(block=True)
    return viewer.label_image()
