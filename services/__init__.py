"""Use cases and entry points (CLI, later HTTP and scheduler). Thin over domain/projections."""
