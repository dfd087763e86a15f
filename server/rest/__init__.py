"""The HTTP transport: the NDJSON API on FastAPI, its converters, and the live page."""
