"""Chainlit's persistence on the Compass database: its SQLAlchemy data layer and an element store in `ui_files`."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient
from sqlalchemy.engine import make_url

from kb.db import Database
from kb.errors import ConfigurationError
from kb.orm_chainlit import UIFileRow


def async_database_url(url: str) -> str:
    """The same database through an asyncio driver, which Chainlit's data layer needs (aiosqlite / psycopg 3)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigurationError("the chat UI needs a database file or server; an in-memory SQLite is per process")
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    else:
        raise ConfigurationError(f"the chat UI supports SQLite and PostgreSQL, not {backend}")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True)
class StoredFile:
    object_key: str
    mime: str
    data: bytes


def save_file(database: Database, object_key: str, data: bytes, mime: str) -> None:
    with database.session() as session:
        session.merge(UIFileRow(object_key=object_key, mime=mime, data=data))


def load_file(database: Database, object_key: str) -> StoredFile | None:
    with database.session() as session:
        row = session.get(UIFileRow, object_key)
        return None if row is None else StoredFile(row.object_key, row.mime, row.data)


def delete_file(database: Database, object_key: str) -> bool:
    with database.session() as session:
        row = session.get(UIFileRow, object_key)
        if row is None:
            return False
        session.delete(row)
        return True


class DatabaseStorageClient(BaseStorageClient):
    """Element bytes (charts, manifests) in `ui_files`, served back at `<files_url>/<object key>`.

    Chainlit only persists an element when a storage client exists; without one a resumed thread loses its charts.
    Object keys start with the owner's Chainlit user id, which is what the download route checks.
    """

    def __init__(self, database: Database, files_url: str) -> None:
        self.database = database
        self.files_url = files_url.rstrip("/")

    def url_for(self, object_key: str) -> str:
        return f"{self.files_url}/{quote(object_key)}"

    async def upload_file(
        self,
        object_key: str,
        data: bytes | str,
        mime: str = "application/octet-stream",
        overwrite: bool = True,
        content_disposition: str | None = None,
    ) -> dict[str, Any]:
        payload = data.encode() if isinstance(data, str) else bytes(data)
        await to_thread.run_sync(functools.partial(save_file, self.database, object_key, payload, mime))
        return {"object_key": object_key, "url": self.url_for(object_key)}

    async def delete_file(self, object_key: str) -> bool:
        return await to_thread.run_sync(functools.partial(delete_file, self.database, object_key))

    async def get_read_url(self, object_key: str) -> str:
        return self.url_for(object_key)

    async def close(self) -> None:
        return None


ThreadDeleted = Callable[[str, str], Awaitable[None]]
"""Called with (thread id, owner) after the UI deleted a thread, to delete the conversation behind it."""


class CompassDataLayer(SQLAlchemyDataLayer):
    """Chainlit's SQLAlchemy data layer; deleting a chat in the sidebar also deletes its conversation (graph state)."""

    def __init__(self, *args: Any, on_thread_deleted: ThreadDeleted | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_thread_deleted = on_thread_deleted

    async def delete_thread(self, thread_id: str) -> None:
        try:
            owner: str | None = await self.get_thread_author(thread_id)
        except ValueError:
            owner = None
        await super().delete_thread(thread_id)
        if owner is not None and self.on_thread_deleted is not None:
            await self.on_thread_deleted(thread_id, owner)


def build_data_layer(
    database: Database, files_url: str, *, on_thread_deleted: ThreadDeleted | None = None
) -> CompassDataLayer:
    """Chainlit's SQLAlchemy data layer on the Compass database (tables from migration 0004_chainlit)."""
    url = async_database_url(database.url)
    connect_args: dict[str, Any] = {"timeout": 30} if url.startswith("sqlite") else {"connect_timeout": 5}
    return CompassDataLayer(
        conninfo=url,
        connect_args=connect_args,
        storage_provider=DatabaseStorageClient(database, files_url),
        on_thread_deleted=on_thread_deleted,
    )
