"""The whole web face of one companion: the live page and API, and homework's routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from companion.app import Companion
    from companion.webapp.pairing import Pairing


def build_web_app(
    companion: Companion, allowed_hosts: set[str], pairing: Pairing | None = None
) -> Flask:
    """The page, the live API and the homework/journal routes, for one companion.

    With `pairing`, other devices on the network may pair and use it (`--lan`)."""
    from companion.webapp.homework_api import create_homework_blueprint
    from companion.webapp.routes import create_app

    app = create_app(companion, allowed_hosts=allowed_hosts, pairing=pairing)
    if companion.options.journal:
        app.register_blueprint(
            create_homework_blueprint(
                companion.open_journal,
                scripts=lambda: dict(companion.library),
                on_change=companion.refresh_library,
                names=lambda: companion.names,
            )
        )
    return app
