"""trace-warehouse: a SQL-first warehouse for agent reasoning traces."""
