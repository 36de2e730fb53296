"""Benchmarks of the product, each measured beside a baseline in the same run."""
