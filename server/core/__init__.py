"""Transport-neutral core: settings, lifecycle state, validation, the pipeline and its events."""
