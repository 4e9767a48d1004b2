"""HTML quality-control (QC) reports.

- :mod:`~spinalcordtoolbox.reports.qc`: ``generate_qc``, the one entry point every command calls.
- :mod:`~spinalcordtoolbox.reports.views`: what to show (cord-centred axial tiles, sagittal slices).
- :mod:`~spinalcordtoolbox.reports.render`: how it is drawn (matplotlib Agg PNGs).
- :mod:`~spinalcordtoolbox.reports.records`: one record per entry and the index built from them.

Nothing heavy is imported here: commands import this package at start-up.
"""
