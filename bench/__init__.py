"""Benchmarks (``make bench``): figures with their machine, versions and date, written to
bench/results/ and docs/benchmarks.md. Not tests: nothing here passes or fails."""
