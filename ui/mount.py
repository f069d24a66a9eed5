"""Mounts the Chainlit chat on the Compass FastAPI app (one port for API and UI). Called by `agent.api.app`.

Chainlit is imported only here, inside `mount_ui`, after its working folder is pointed at the data directory:
importing it writes `.chainlit/` and `.files/` into `CHAINLIT_APP_ROOT` (the current directory by default).
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse

from kb.settings import DatabaseSettings
from ui import runtime
from ui.auth import ensure_auth_secret
from ui.settings import UISettings

APP_FILE = Path(__file__).with_name("app.py")
ASSET_TYPES = {
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".map": "application/json",
}
COMPRESSIBLE = frozenset({".js", ".mjs", ".css", ".svg", ".json", ".map"})
_mounted_path: str | None = None


def prepare_chainlit(data_dir: Path) -> Path:
    """Set Chainlit's working folder (`<data_dir>/chainlit`, unless CHAINLIT_APP_ROOT is set) and auth secret."""
    root = Path(os.environ.setdefault("CHAINLIT_APP_ROOT", str((data_dir / "chainlit").resolve())))
    theme = root / "public" / "theme.json"
    if not theme.exists():
        # No web fonts from Google: the page loads the same offline, behind a firewall, and without a third party.
        theme.parent.mkdir(parents=True, exist_ok=True)
        theme.write_text(json.dumps({"custom_fonts": []}), encoding="utf-8")
    ensure_auth_secret(data_dir)
    return root


def mount_ui(app: FastAPI, settings: UISettings | None = None) -> bool:
    """Serve the chat at `COMPASS_UI_PATH` (default /chat) unless `COMPASS_UI=0`; True when mounted.

    Chainlit's server is a process-wide singleton: the first call loads `ui/app.py` into it, later calls (tests that
    build several apps) mount the same server and point its handlers at the newest app.
    """
    global _mounted_path
    settings = settings or UISettings()
    if not settings.enabled:
        return False
    prepare_chainlit(DatabaseSettings().data_dir)
    path = _mounted_path or settings.path  # Chainlit keeps the first path (its middleware and cookies use it)
    files_url = f"{path}/element-files"
    runtime.bind(app, files_url=files_url)
    # Both routes go before the mount, so they win over Chainlit's own.
    _add_file_route(app, files_url)
    _add_asset_route(app, f"{path}/assets")
    if _mounted_path is None:
        from chainlit.utils import mount_chainlit

        mount_chainlit(app=app, target=str(APP_FILE), path=path)
        _mounted_path = path
    else:
        from chainlit.server import app as chainlit_app

        app.mount(path, chainlit_app)
    return True


def _add_file_route(app: FastAPI, files_url: str) -> None:
    from chainlit.auth import get_current_user
    from chainlit.user import PersistedUser

    from ui.storage import load_file

    async def element_file(object_key: str, user: Any = Depends(get_current_user)) -> Response:
        """A stored chat element (chart JSON, manifest YAML), only for the user whose thread holds it."""
        if not isinstance(user, PersistedUser) or not object_key.startswith(f"{user.id}/"):
            raise HTTPException(status_code=404, detail="not found")
        stored = await runtime.call(load_file, runtime.database(), object_key)
        if stored is None:
            raise HTTPException(status_code=404, detail="not found")
        inline = stored.mime in ("application/json", "text/yaml", "text/plain")
        name = object_key.rsplit("/", 1)[-1].replace('"', "")
        return Response(
            content=stored.data,
            media_type=stored.mime if inline else "application/octet-stream",
            headers={
                "Cache-Control": "private, max-age=3600",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "sandbox",
                "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
            },
        )

    app.add_api_route(f"{files_url}/{{object_key:path}}", element_file, methods=["GET"], include_in_schema=False)


def _add_asset_route(app: FastAPI, assets_url: str) -> None:
    """Chainlit's built frontend with long-lived caching and compression done once.

    Chainlit serves its 4.6 MB bundle without cache headers and gzips it on every request in the event loop (about
    0.8 s per page load here). The file names carry a content hash, so they can be cached for good.
    """
    from chainlit.server import build_dir

    folder = (Path(build_dir) / "assets").resolve()
    compressed: dict[str, bytes] = {}

    async def asset(filename: str, request: Request) -> Response:
        file = (folder / filename).resolve()
        if not file.is_relative_to(folder) or not file.is_file():
            raise HTTPException(status_code=404, detail="not found")
        media_type = ASSET_TYPES.get(file.suffix, "application/octet-stream")
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
        if file.suffix not in COMPRESSIBLE or "gzip" not in request.headers.get("accept-encoding", ""):
            return FileResponse(file, media_type=media_type, headers=headers)
        if filename not in compressed:
            compressed[filename] = await runtime.call(lambda: gzip.compress(file.read_bytes(), compresslevel=6))
        return Response(compressed[filename], media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})

    app.add_api_route(f"{assets_url}/{{filename:path}}", asset, methods=["GET"], include_in_schema=False)
