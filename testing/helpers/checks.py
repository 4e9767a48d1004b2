"""Small checks shared by test modules: overlap of masks, and a command's error exit."""
import numpy as np
import pytest


def dice(a, b) -> float:
    """Dice coefficient of two masks (non-zero = inside)."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def run_error(main, capsys, argv):
    """Run a command's ``main(argv)`` expecting it to exit; returns (exit code, last stderr line)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return exc.value.code, err[-1] if err else ""
