"""Service settings for `compass serve` and `make run`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """HTTP service settings (env prefix `COMPASS_`)."""

    model_config = SettingsConfigDict(env_prefix="COMPASS_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Interface the service listens on")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the service listens on")
    stale_price_days: int = Field(default=180, ge=1, description="Prices older than this are reported as stale")
    workers: int = Field(default=1, ge=1, le=64, description="Worker processes for `compass serve`")
    turn_concurrency: int = Field(
        default=4, ge=1, le=256, description="Graph turns run at once per process; more wait (GIL-bound work)"
    )
    warm_start: bool = Field(
        default=True,
        description="Build the use cases' curve matrices before serving, so the first turns are as fast as later ones",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, le=1_073_741_824, description="Largest request body the API accepts (413 beyond)"
    )
    turn_lease_s: float = Field(
        default=900.0,
        gt=0,
        description="A turn that has held its conversation this long is presumed dead and its lock taken over",
    )
