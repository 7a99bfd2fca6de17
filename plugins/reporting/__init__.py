"""Report orchestration domain logic (no Airflow imports)."""
