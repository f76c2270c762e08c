"""Inference statistics of a squared-error fit (the OLS summary statsmodels users know), from the
Gram statistics, and the summary table that renders them."""
