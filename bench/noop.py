"""A no-op task body for the comparison DAGs (static file, dag-factory): the cheapest callable a user would import."""


def noop(*args: object, **kwargs: object) -> list[dict[str, str]]:
    """Do nothing; return one target so a mapped task downstream has something to expand over.

    :param args: ignored.
    :param kwargs: ignored.
    """
    return [{"key": "reports_share"}]
