"""`aftersale.entrypoints.asgi:app` for `serve --workers N` and any ASGI server."""

from aftersale.entrypoints.api.app import create_app

app = create_app()
