"""Benchmarks for textstream (run by `make bench`, never by the tests)."""
