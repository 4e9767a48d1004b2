"""Small checks shared by test modules: overlap of masks, and a command's error exit."""
import pytest

from spinalcordtoolbox.metrics.similarity import dice  # noqa: F401  (tests import it from here)


def run_error(main, capsys, argv):
    """Run a command's ``main(argv)`` expecting it to exit; returns (exit code, last stderr line)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return exc.value.code, err[-1] if err else ""


def exit_code(module, argv):
    """Run ``module.main(argv)`` (arguments turned into strings); its exit code, 0 on success."""
    try:
        return module.main([str(a) for a in argv]) or 0
    except SystemExit as e:
        return e.code
