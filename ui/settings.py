"""UI settings from the environment: whether the chat is mounted, where, and who may log in."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class UISettings(BaseSettings):
    """`COMPASS_UI=0` turns the chat off; `COMPASS_UI_USERS` / `COMPASS_UI_HEADER_AUTH` choose how people log in.

    With neither set, everyone is the local user (as with the REST API without keys): fine on 127.0.0.1, not on a
    shared host.
    """

    model_config = SettingsConfigDict(env_prefix="COMPASS_UI_", extra="ignore", populate_by_name=True)

    enabled: bool = Field(
        default=True,
        validation_alias=AliasChoices("COMPASS_UI", "COMPASS_UI_ENABLED"),
        description="Mount the chat UI on the API service",
    )
    path: str = Field(default="/chat", description="URL path the chat is served under")
    users: SecretStr = Field(
        default=SecretStr(""),
        description='Password logins, "alice:secret,bob:pw"; a password may be a pbkdf2_sha256$... hash',
    )
    header_auth: str = Field(
        default="", description="Trust this request header as the user name (behind an authenticating proxy)"
    )

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        value = "/" + value.strip().strip("/")
        if value == "/":
            raise ValueError("the chat needs its own path, e.g. /chat (the API owns /)")
        return value
