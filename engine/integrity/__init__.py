"""Integrity of the append-only logs: keys, keyed hash chains, checkpoints outside the database,
whole-database verification and the database role the app runs under."""
