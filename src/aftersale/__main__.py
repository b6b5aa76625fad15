"""`python -m aftersale` is the `aftersale` command."""

from aftersale.entrypoints.cli import app

app()
