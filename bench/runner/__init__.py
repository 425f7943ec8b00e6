"""Runner: plan a suite into jobs, run each in an isolated worker, collect tidy rows."""
