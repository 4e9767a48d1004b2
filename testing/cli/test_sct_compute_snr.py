"""sct_compute_snr on sct_testing_data/dmri."""
import numpy as np
import pytest

from spinalcordtoolbox.image import Image


def test_snr_diff_on_dwi(sct_testing_data, in_tmp, capsys):
    from spinalcordtoolbox.scripts.sct_compute_snr import main

    d = sct_testing_data / "dmri"
    assert main(["-i", str(d / "dwi.nii.gz"), "-m", str(d / "dmri_T0001.nii.gz"), "-method", "diff",
                 "-vol", "0,5", "-o", "snr.txt"]) == 0
    value = float((in_tmp / "snr.txt").read_text())
    assert f"SNR_diff = {value}" in capsys.readouterr().out
    # recomputed from its definition: per slice, mean of the pair over std of the difference / sqrt 2
    data = Image(str(d / "dwi.nii.gz")).data.astype(float)
    w = Image(str(d / "dmri_T0001.nii.gz")).data.astype(float)
    snrs = []
    for z in range(data.shape[2]):
        mean = np.average((data[..., z, 0] + data[..., z, 5]) / 2, weights=w[..., z])
        diff = (data[..., z, 5] - data[..., z, 0]) / np.sqrt(2)
        std = np.sqrt(np.average((diff - np.average(diff, weights=w[..., z])) ** 2, weights=w[..., z]))
        snrs.append(mean / std)
    assert value == pytest.approx(np.mean(snrs), rel=1e-9)
    assert value == pytest.approx(2.4805, abs=1e-4)


def test_snr_mult_map_in_current_folder(sct_testing_data, in_tmp):
    from spinalcordtoolbox.scripts.sct_compute_snr import main

    d = sct_testing_data / "dmri"
    assert main(["-i", str(d / "dwi.nii.gz"), "-m", str(d / "dmri_T0001.nii.gz"), "-method", "mult",
                 "-v", "0", "-o", "snr.txt"]) == 0
    assert (in_tmp / "dwi_SNR-mult.nii.gz").is_file()
    assert not (d / "dwi_SNR-mult.nii.gz").exists()
    assert float((in_tmp / "snr.txt").read_text()) > 0
    with pytest.raises(SystemExit) as e:   # 3-D input cannot give a diff SNR
        main(["-i", str(d / "dwi_mean.nii.gz"), "-m", str(d / "dmri_T0001.nii.gz"), "-o", "x.txt"])
    assert e.value.code == 1 and not (in_tmp / "x.txt").exists()
