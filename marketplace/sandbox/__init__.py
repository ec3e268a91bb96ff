"""Sandbox marketplaces: standalone WSGI apps that behave like postmart.vn and voso.vn.

Each style lives in its own module (``postmart``, ``voso``) over shared parts: a SQLite
store, rate limits and injectable faults (``base``). Nothing here imports the service:
the sandboxes stand apart, as a real marketplace would. ``servers`` starts them in
threads for ``make run`` and the tests.
"""
