"""Login policy: configured passwords (hashed, constant-time), a trusted proxy header, the local user, the secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kb.errors import ConfigurationError
from ui.auth import LoginPolicy, PasswordHash, UserDirectory, ensure_auth_secret, header_user


def test_configured_passwords_are_checked_against_their_hashes() -> None:
    users = UserDirectory.from_config("alice:secret, bob:pw")
    assert users.verify("alice", "secret") and users.verify("bob", "pw")
    assert not users.verify("alice", "pw") and not users.verify("carol", "secret")


def test_a_stored_hash_works_instead_of_a_password() -> None:
    encoded = PasswordHash.of("s3cret", iterations=1000).encoded()
    users = UserDirectory.from_config(f"alice:{encoded}")
    assert users.verify("alice", "s3cret") and not users.verify("alice", encoded)


@pytest.mark.parametrize("spec", ["alice", "alice:", "al ice:pw", "alice:pbkdf2_sha256$x$y"])
def test_a_malformed_user_list_is_a_configuration_error(spec: str) -> None:
    with pytest.raises(ConfigurationError, match="COMPASS_UI_USERS"):
        UserDirectory.from_config(spec)


def test_the_proxy_header_must_hold_a_plausible_user_name() -> None:
    assert header_user({"X-Forwarded-User": " carol "}, "X-Forwarded-User") == "carol"
    assert header_user({"X-Forwarded-User": "<script>"}, "X-Forwarded-User") is None
    assert header_user({}, "X-Forwarded-User") is None


def test_without_any_login_configured_everyone_is_the_local_user() -> None:
    policy = LoginPolicy(UserDirectory({}))
    assert policy.local_only and policy.check_headers({}) == "local-user"
    assert policy.check_password("local-user", "") is None


def test_with_passwords_configured_there_is_no_implicit_local_user() -> None:
    policy = LoginPolicy(UserDirectory.from_config("alice:secret"))
    assert not policy.local_only and policy.check_headers({}) is None
    assert policy.check_password("alice", "secret") == "alice"


def test_the_auth_secret_is_generated_once_and_kept_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET", raising=False)
    first = ensure_auth_secret(tmp_path)
    monkeypatch.delenv("CHAINLIT_AUTH_SECRET")
    assert ensure_auth_secret(tmp_path) == first and len(first) >= 40
    assert stat.S_IMODE((tmp_path / "chainlit-auth-secret").stat().st_mode) == 0o600


def test_a_configured_auth_secret_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "from-the-environment")
    assert ensure_auth_secret(tmp_path) == "from-the-environment"
    assert not (tmp_path / "chainlit-auth-secret").exists()
