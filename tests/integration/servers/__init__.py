"""Real servers the integration tests start on 127.0.0.1 (random free high ports) and stop at the end.

Each server is a plain class with ``start()``/``stop()`` so fault tests can stop one in the
middle of a delivery and bring it back; the session fixtures live in ``tests/integration/conftest.py``.
"""
