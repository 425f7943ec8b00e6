"""Results: the tidy row schema (defined once) and the atomic, resumable CSV store."""
