"""Entry points: the HTTP API, the web pages, the worker and the CLI."""
