"""The SQL database: tables, repositories, unit of work and migrations."""
