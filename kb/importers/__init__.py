"""Importers that turn benchmark reports from external tools into knowledge-base benchmark records."""
