"""Knowledge-base settings: where the database lives."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """`COMPASS_DATABASE_URL` selects the database; by default a SQLite file under `COMPASS_DATA_DIR`."""

    model_config = SettingsConfigDict(env_prefix="COMPASS_", extra="ignore")

    database_url: str | None = Field(default=None, description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db")
    data_dir: Path = Field(default=Path(".compass"), description="Folder for the default SQLite file")
    database_echo: bool = False

    def resolved_url(self) -> str:
        """The URL to connect to; the default SQLite file's folder is created on first use."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'compass.db').resolve()}"
