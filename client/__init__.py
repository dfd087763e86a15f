"""The textstream client library and the `textstream` command."""
