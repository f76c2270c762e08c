"""The math of descent: the hypothesis and its losses, the optimizers, the learning-rate schedules,
batch orders, preprocessing and the curvature that ``lr="auto"`` reads. Nothing here reads files,
runs a loop or knows an engine."""
