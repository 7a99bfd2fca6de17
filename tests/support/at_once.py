"""Run several operators' ``execute`` at the same moment, for tests of concurrent deliveries."""

from __future__ import annotations

import threading
from typing import Any


def execute_together(operators: dict[str, Any], timeout: float) -> dict[str, object]:
    """Start every operator's first result at once (a barrier); return each result or the exception it raised.

    :param operators: the operators by a name of the caller's choice.
    :param timeout: seconds to wait for each thread.
    """
    start = threading.Barrier(len(operators))
    results: dict[str, object] = {}

    def run(name: str) -> None:
        start.wait()
        try:
            results[name] = operators[name].execute({})[0]
        except Exception as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=(name,)) for name in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
