"""Use cases: each opens a unit of work, loads, calls one domain method and commits."""
