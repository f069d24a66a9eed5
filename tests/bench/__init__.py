"""Performance figures for docs/PERFORMANCE.md; run with `make bench` (not part of `make test`)."""
