"""Knowledge base: the catalogs, prices, SLO templates and benchmarks every recommendation is grounded in."""
