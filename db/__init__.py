"""PostgreSQL access: the pool, migrations and every SQL statement, each scoped to a tenant where it is written."""
