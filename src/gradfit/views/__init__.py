"""What people look at: plots, animations, loss surfaces, computation graphs and the HTML report.
These read a ``FitResult`` or a fitted estimator; none of them runs a fit."""
