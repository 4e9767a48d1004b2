"""Batch processing: one bash script run over every subject of a BIDS dataset.

- :mod:`~spinalcordtoolbox.batch.discovery`: subjects (and sessions) of a BIDS folder, include/exclude.
- :mod:`~spinalcordtoolbox.batch.config`: ``-config`` files (YAML/JSON, keys = flag names).
- :mod:`~spinalcordtoolbox.batch.job`: running one subject (environment, log, ``err.`` prefix).
- :mod:`~spinalcordtoolbox.batch.backends`: where subjects run (local pool, dask, SLURM).
- :mod:`~spinalcordtoolbox.batch.runner`: ``run_batch``, scheduling, retries, status, summary.
- :mod:`~spinalcordtoolbox.batch.provenance`: the provenance block of ``sct_run_batch_log.txt``.
- :mod:`~spinalcordtoolbox.batch.sample_data`: a small BIDS dataset built from sct_testing_data.
- :mod:`~spinalcordtoolbox.batch.manual_correction`: the QC failures -> manual files loop.

Nothing heavy is imported here (``sct_run_batch -h`` imports this package).
"""
