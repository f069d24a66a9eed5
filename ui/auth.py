"""Who is chatting: password logins from configuration, a trusted proxy header, and the secret that signs sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent.api.auth import LOCAL_USER
from kb.errors import ConfigurationError

HASH_SCHEME = "pbkdf2_sha256"
HASH_ITERATIONS = 120_000
SECRET_FILE = "chainlit-auth-secret"
_USER_NAME = re.compile(r"^[A-Za-z0-9._@+-]{1,255}$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PasswordHash:
    """A PBKDF2-SHA256 password hash; `encoded()` is the form `COMPASS_UI_USERS` accepts instead of a password."""

    salt: bytes
    digest: bytes
    iterations: int = HASH_ITERATIONS

    @classmethod
    def of(cls, password: str, *, iterations: int = HASH_ITERATIONS) -> PasswordHash:
        salt = secrets.token_bytes(16)
        return cls(salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations), iterations)

    @classmethod
    def parse(cls, encoded: str) -> PasswordHash:
        """`pbkdf2_sha256$<iterations>$<salt>$<digest>` (URL-safe base64, as `encoded()` writes it)."""
        try:
            scheme, iterations, salt, digest = encoded.split("$")
            if scheme != HASH_SCHEME:
                raise ValueError(scheme)
            return cls(_unb64(salt), _unb64(digest), int(iterations))
        except ValueError as exc:
            raise ConfigurationError(
                f"COMPASS_UI_USERS: a password hash must look like {HASH_SCHEME}$<iterations>$<salt>$<digest>"
            ) from exc

    def encoded(self) -> str:
        return f"{HASH_SCHEME}${self.iterations}${_b64(self.salt)}${_b64(self.digest)}"

    def matches(self, password: str) -> bool:
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations)
        return hmac.compare_digest(candidate, self.digest)


class UserDirectory:
    """The users allowed to log in with a password; plain passwords from configuration are hashed on load."""

    def __init__(self, users: Mapping[str, PasswordHash]) -> None:
        self._users = dict(users)
        self._decoy = PasswordHash.of(secrets.token_urlsafe(16))

    @classmethod
    def from_config(cls, spec: str) -> UserDirectory:
        """`"alice:secret,bob:pbkdf2_sha256$..."`; names are letters, digits and `._@+-`."""
        users: dict[str, PasswordHash] = {}
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            name, sep, password = item.partition(":")
            name = name.strip()
            if not sep or not password:
                raise ConfigurationError(f'COMPASS_UI_USERS: {name!r} has no password; use "name:password" pairs')
            if not _USER_NAME.match(name):
                raise ConfigurationError(f"COMPASS_UI_USERS: {name!r} is not a valid user name")
            users[name] = (
                PasswordHash.parse(password) if password.startswith(HASH_SCHEME + "$") else PasswordHash.of(password)
            )
        return cls(users)

    def __len__(self) -> int:
        return len(self._users)

    def verify(self, name: str, password: str) -> bool:
        """True only for a known user with the right password; unknown names cost the same time as known ones."""
        known = self._users.get(name)
        matched = (known or self._decoy).matches(password)
        return known is not None and matched


def header_user(headers: Mapping[str, str], header: str) -> str | None:
    """The user name a trusted proxy put in `header`, or None when it is missing or not a plausible name."""
    value = (headers.get(header) or headers.get(header.lower()) or "").strip()
    return value if _USER_NAME.match(value) else None


def ensure_auth_secret(data_dir: Path) -> str:
    """`CHAINLIT_AUTH_SECRET`, generated once into `<data_dir>/chainlit-auth-secret` (mode 600) when unset.

    Sessions signed with it survive restarts; every worker and replica must share it (set it, or share the folder).
    """
    secret = os.environ.get("CHAINLIT_AUTH_SECRET", "").strip()
    if secret:
        return secret
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another worker may have created it a moment ago and be writing it
            secret = path.read_text(encoding="utf-8").strip()
            if secret:
                break
            time.sleep(0.02)
    else:
        secret = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secret + "\n")
    if not secret:
        raise ConfigurationError(f"{path} is empty; delete it to generate a new secret or set CHAINLIT_AUTH_SECRET")
    os.environ["CHAINLIT_AUTH_SECRET"] = secret
    return secret


@dataclass(frozen=True)
class LoginPolicy:
    """How the chat logs people in, from `UISettings`.

    Passwords (`COMPASS_UI_USERS`) and a proxy header (`COMPASS_UI_HEADER_AUTH`) can be combined: the header is tried
    first. With neither, everyone is `local-user`, like the REST API without keys.
    """

    users: UserDirectory
    header: str = ""

    @property
    def passwords(self) -> bool:
        return len(self.users) > 0

    @property
    def local_only(self) -> bool:
        return not self.passwords and not self.header

    def check_password(self, name: str, password: str) -> str | None:
        return name if self.passwords and self.users.verify(name, password) else None

    def check_headers(self, headers: Mapping[str, str]) -> str | None:
        if self.header:
            return header_user(headers, self.header)
        return LOCAL_USER if self.local_only else None
