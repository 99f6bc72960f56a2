"""``traces serve``'s start-up: the explorer's app (reports.web.app) behind waitress."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from waitress import serve as waitress_serve

from reports.web.app import create_app


def serve(db: Path, host: str, port: int, allowed_hosts: Iterable[str] = (), index: bool = True) -> None:
    """Serve until interrupted (waitress: a production WSGI server, several requests at once);
    the search index is brought up to date in the background meanwhile (``index``)."""
    names = [*allowed_hosts] + ([] if host in ("0.0.0.0", "::", "") else [host])
    app = create_app(db, allowed_hosts=names, index_in_background=index)
    indexer = app.extensions["indexer"]
    if indexer is not None:
        indexer.ensure_current()
    waitress_serve(app, host=host, port=port, threads=4, ident="traces-serve")
