"""`aftersale.entrypoints.asgi:app` for `serve --workers N` and any ASGI server."""

from aftersale.entrypoints import heap
from aftersale.entrypoints.api.app import create_app

app = create_app()
heap.settle()  # each server process imports this module once
