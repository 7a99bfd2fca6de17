"""Listeners Airflow calls in its own processes (the scheduler, ``dag.test()``, the API server), never in a task."""
