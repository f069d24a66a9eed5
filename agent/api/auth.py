"""Who is calling: API keys or bearer tokens from configuration; without keys, everyone is the local user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
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


_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="A key from COMPASS_API_KEYS")
_BEARER = HTTPBearer(auto_error=False, description="A key from COMPASS_API_KEYS as a bearer token")


def current_user(
    request: Request,
    api_key: Annotated[str | None, Depends(_API_KEY)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> str:
    """The caller's user name; without configured keys everyone is the local user."""
    keys: dict[str, str] = request.app.state.api_keys
    if not keys:
        return LOCAL_USER
    token = api_key or (bearer.credentials if bearer is not None else "")
    user = keys.get(token) if token else None
    if user is None:
        raise HTTPException(
            status_code=401,
            detail="missing or unknown API key: send X-API-Key or Authorization: Bearer",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


User = Annotated[str, Depends(current_user)]
