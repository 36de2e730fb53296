"""Benchmarks of the product, each printing ratios against a same-run baseline."""

import os

# Apart from `make run` (0) and the tests (1000, exec 2000); two checkouts
# benchmarking at once choose their own with CRM_BENCH_PORT_OFFSET.
BENCH_PORT_OFFSET = int(os.environ.get("CRM_BENCH_PORT_OFFSET", "3000"))
