"""The playground: ``gradfit playground`` serves a page where a learner moves the learning rate and watches.

Every number on the page comes from gradfit itself (``GDRegressor`` and its
``history_``); the browser only draws. See :mod:`gradfit.playground.app` for the
page, :mod:`~gradfit.playground.descent` for the runs, :mod:`~gradfit.playground.export`
for the code it exports and :mod:`~gradfit.playground.server` for serving it.
"""

from .descent import Run, Settings
from .server import serve

__all__ = ["Run", "Settings", "serve"]
