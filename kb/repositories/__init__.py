"""Typed repository functions over the knowledge-base tables; they take a Session and return domain types."""
