"""Jinja2 templates of the manifests (`*.yaml.j2`); a package so the templates ship as package data."""
