"""``python -m gradfit.cli``: the ``gradfit`` command."""

from . import main

main()
