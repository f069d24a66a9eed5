"""Deployment: turn an approved option into a running endpoint (local simulator, Kubernetes, or YAML files)."""
