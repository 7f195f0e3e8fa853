"""Storage: the database is the system of record."""
