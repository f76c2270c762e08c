"""Training: the settings of a fit, the one loop every engine shares, its history and callbacks,
checkpoints, the verdict at the end, and ``solver.fit``, which goes from data and settings to a
finished ``FitResult``."""
