"""Benchmarks: scripts that measure and print figures and write the
results pages of the docs (`docs/results/`). `benchmarks.common` holds
what they share; the scripts live in sub-folders by kind: `speed`,
`quality`, `peer` and `serving`. Run one as `python -m
benchmarks.KIND.NAME`."""
