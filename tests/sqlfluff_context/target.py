"""``target`` for sqlfluff's Jinja templater: the DuckDB output of profiles.yml."""

type = "duckdb"
schema = "main"
