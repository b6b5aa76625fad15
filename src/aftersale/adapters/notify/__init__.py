"""Adapters that tell the outside world: webhook deliveries over HTTP, mail over SMTP."""
