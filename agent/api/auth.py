"""Who is calling: API keys or bearer tokens from configuration; without keys, everyone is the local user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_USER = "local-user"


class AuthSettings(BaseSettings):
    """`COMPASS_API_KEYS="key1:alice,key2:bob"` turns authentication on (X-API-Key or Authorization: Bearer)."""

    model_config = SettingsConfigDict(env_prefix="COMPASS_", extra="ignore")

    api_keys: str = Field(default="", description="Comma-separated key:user pairs")

    def users_by_key(self) -> dict[str, str]:
        pairs = [item.strip() for item in self.api_keys.split(",") if item.strip()]
        out: dict[str, str] = {}
        for pair in pairs:
            key, _, user = pair.partition(":")
            out[key.strip()] = (user or key).strip()
        return out


def current_user(request: Request) -> str:
    keys: dict[str, str] = request.app.state.api_keys
    if not keys:
        return LOCAL_USER
    header = request.headers.get("authorization", "")
    token = request.headers.get("x-api-key") or (header[7:].strip() if header.lower().startswith("bearer ") else "")
    user = keys.get(token) if token else None
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="missing or unknown API key: send X-API-Key or Authorization: Bearer",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


User = Annotated[str, Depends(current_user)]
