"""The Compass REST service (FastAPI)."""
