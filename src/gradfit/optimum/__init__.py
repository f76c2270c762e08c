"""The exact answer beside every fit: Gram statistics, least squares refined to the digits the data
allows, and the exact optimum of the robust losses, so that every fit knows its distance to it."""
