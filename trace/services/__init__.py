"""Service layer: each function takes a session and plain values and owns its transaction."""
