"""REST routes, one module per resource area."""
