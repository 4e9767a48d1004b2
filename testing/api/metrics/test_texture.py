"""metrics.texture: per-window GLCM features equal scikit-image's graycomatrix + graycoprops."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image


@pytest.mark.parametrize("distance,angle", [(1, 0), (1, 45), (1, 90), (1, 135), (2, 30), (3, 135)])
def test_features_equal_scikit_image(distance, angle):
    from skimage.feature import graycomatrix, graycoprops
    from spinalcordtoolbox.metrics.texture import FEATURES, window_features

    rng = np.random.default_rng(distance * 1000 + angle)
    k = 2 * distance + 1
    windows = rng.integers(0, 256, (25, k, k))
    windows[0] = 7                                   # flat window: correlation 1 by definition
    windows[1] = rng.integers(100, 103, (k, k))      # few levels: repeated pairs (ASM > 0)
    ours = window_features(windows, distance, angle, FEATURES)
    for i, w in enumerate(windows):
        glcm = graycomatrix(w.astype(np.uint8), [distance], [np.radians(angle)], levels=256,
                            symmetric=True, normed=True)
        for f in FEATURES:
            assert ours[f][i] == pytest.approx(graycoprops(glcm, f)[0, 0], rel=1e-9, abs=1e-12), (f, i)


def test_texture_map_on_a_striped_phantom():
    """Vertical stripes 0/10 one voxel wide: contrast 100 across them (0 deg), 0 along (90 deg)."""
    from spinalcordtoolbox.metrics.texture import compute_texture

    data = np.zeros((12, 12, 3))
    data[::2] = 10
    mask = np.zeros_like(data)
    mask[2:10, 2:10, :] = 1
    aff = np.diag([-1.0, 1.0, 1.0, 1.0])          # RPI: axes unchanged for -dim ax
    maps = compute_texture(Image(data, affine=aff), Image(mask, affine=aff), features=["contrast"],
                           angles=[0, 90])
    # skimage's angle 0 pairs columns (second array axis), angle 90 pairs rows (first axis)
    across = maps[("contrast", 90)].data
    along = maps[("contrast", 0)].data
    inner = (slice(3, 9), slice(3, 9), slice(None))
    assert np.all(across[inner] == 100) and np.all(along[inner] == 0)
    assert np.all(maps[("contrast", "mean")].data[inner] == 50)
    assert across[2, 5, 0] == 0            # window not entirely in the mask: left at 0
