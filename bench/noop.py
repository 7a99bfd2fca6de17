"""The comparison DAGs' tasks (static file, bare DAG): a no-op body, the cheapest callable a user would import, and the
source of their six tasks."""

SIX_TASKS = """\
    claim = PythonOperator(task_id="claim", python_callable=noop)
    targets = PythonOperator(task_id="targets", python_callable=noop)
    generate = PythonOperator(task_id="generate", python_callable=noop)
    distribute = PythonOperator.partial(task_id="distribute", python_callable=noop).expand(op_args=targets.output)
    notify = PythonOperator(task_id="notify", python_callable=noop)
    finalize = PythonOperator(task_id="finalize", python_callable=noop)
    claim >> [targets, generate]
    generate >> distribute >> notify >> finalize
"""
"""The source of the six no-op tasks in the report DAG's shape, indented for a ``with DAG(...)`` block."""


def noop(*args: object, **kwargs: object) -> list[dict[str, str]]:
    """Do nothing; return one target so a mapped task downstream has something to expand over.

    :param args: ignored.
    :param kwargs: ignored.
    """
    return [{"key": "reports_share"}]
