"""Analytics: the BigQuery dataset, the event loader, its views and backfill."""
