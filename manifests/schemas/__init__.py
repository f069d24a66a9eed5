"""CRD openAPIV3Schemas (`*.json`) copied from the upstream CRDs by `extract.py`, shipped for offline validation."""
