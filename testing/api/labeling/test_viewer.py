"""Interactive label viewer driven headless by synthetic matplotlib events."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backend_bases import KeyEvent, MouseEvent  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from spinalcordtoolbox.image import Image  # noqa: E402
from spinalcordtoolbox.labeling import viewer as V  # noqa: E402


def click(v, y, z, button=1):
    fig = v.fig
    fig.canvas.draw()
    px, py = v.ax.transData.transform((y, z))
    event = MouseEvent("button_press_event", fig.canvas, px, py, button)
    fig.canvas.callbacks.process("button_press_event", event)


def key(v, k):
    v.fig.canvas.callbacks.process("key_press_event", KeyEvent("key_press_event", v.fig.canvas, k))


@pytest.fixture(scope="module")
def t2(sct_testing_data):
    return Image(str(sct_testing_data / "t2" / "t2.nii.gz"))


def _rpi_points(img):
    rpi = img.copy().change_orientation("RPI")
    return sorted((int(v), int(x), int(y), int(z)) for x, y, z, v in rpi.nonzero_coords())


def test_place_undo_and_save(t2):
    v = V.LabelViewer(t2, [3, 4, 5], "Place discs", fig=Figure())
    x0 = v.x
    click(v, 30, 44)
    click(v, 31, 10)       # wrong place for 4
    key(v, "u")            # undo it
    key(v, "right")        # next sagittal slice for the next label
    click(v, 31, 26)
    click(v, 29, 9)
    click(v, 20, 20)       # all placed: ignored
    click(v, 20, 20, button=3)  # right click undoes label 5
    click(v, 32, 9)
    assert v.next_value is None
    out = v.label_image()
    assert out.data.shape == t2.data.shape and out.orientation == t2.orientation
    assert _rpi_points(out) == [(3, x0, 30, 44), (4, x0 + 1, 31, 26), (5, x0 + 1, 32, 9)]


def test_contrast_keys_and_empty(t2):
    v = V.LabelViewer(t2, [3], fig=Figure())
    w = v.width
    key(v, "up")
    lo, hi = v.im.get_clim()
    assert np.isclose(hi - lo, 0.8 * w)
    key(v, "down")
    key(v, "down")
    assert np.isclose(v.width, w * 0.8 * 1.25 * 1.25)
    with pytest.raises(V.ViewerError, match="No label"):
        v.label_image()


def test_centerline_from_clicks(sct_testing_data, t2):
    """Clicks on the cord centre at 4 slices give a fitted centerline within 1 mm of the
    manual segmentation's centre line."""
    from spinalcordtoolbox.centerline.core import get_centerline

    seg = Image(str(sct_testing_data / "t2" / "t2_seg-manual.nii.gz")).change_orientation("RPI")
    v = V.LabelViewer(t2, None, fig=Figure())
    x = v.x
    for z in (2, 18, 35, 52):
        y = np.argwhere(seg.data[x, :, z] > 0)[:, 0].mean()
        click(v, y, z)
    src = v.label_image()
    _, arr, _, _ = get_centerline(src.copy().change_orientation("RPI"), algo="bspline", smooth=30,
                                  minmax=True)
    ys = {int(round(z)): y for _, y, z in arr.T}
    dist = [abs(ys[z] - np.argwhere(seg.data[:, :, z] > 0)[:, 1].mean()) for z in range(2, 53) if z in ys]
    assert len(dist) >= 45 and np.mean(dist) < 1.0


def test_no_display_error(t2, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(V.ViewerError, match="No display"):
        V.pick_points(t2, [3])
