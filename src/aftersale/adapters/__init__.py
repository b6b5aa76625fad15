"""Adapters: the database, payment gateways, calendars and clocks."""
