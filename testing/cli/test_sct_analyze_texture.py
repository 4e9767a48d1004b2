"""sct_analyze_texture on sct_testing_data/t2 against the established toolbox's reference map."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image


def test_contrast_matches_reference(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts.sct_analyze_texture import main

    t2 = sct_testing_data / "t2"
    # the reference was made by a tool that casts intensities to uint8 (values wrap modulo 256);
    # feeding the same grey levels must give the same map
    im = Image(str(t2 / "t2.nii.gz"))
    wrapped = Image(im.data.astype(np.uint8), hdr=im.hdr, affine=im.affine)
    wrapped.save("t2.nii.gz", verbose=False)
    assert main(["-i", "t2.nii.gz", "-m", str(t2 / "t2_seg-manual.nii.gz"), "-feature", "contrast",
                 "-distance", "1", "-ofolder", "out", "-v", "0"]) == 0
    out = Image("out/t2_contrast_1_mean.nii.gz")
    ref = Image(str(t2 / "t2_contrast_1_mean_ref.nii.gz"))
    assert out.orientation == ref.orientation
    assert np.linalg.norm(out.data - ref.data) <= 0.001
    assert sorted(p.name for p in (in_tmp / "out").iterdir()) == sorted(
        [f"t2_contrast_1_{a}.nii.gz" for a in (0, 45, 90, 135, "mean")])


def test_bad_feature_one_line_error(sct_testing_data, in_tmp, capsys):
    from spinalcordtoolbox.scripts.sct_analyze_texture import main

    t2 = sct_testing_data / "t2"
    with pytest.raises(SystemExit) as e:
        main(["-i", str(t2 / "t2.nii.gz"), "-m", str(t2 / "t2_seg-manual.nii.gz"), "-feature", "contrastt"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and "Did you mean 'contrast'" in err
    assert not (in_tmp / "texture").exists()
