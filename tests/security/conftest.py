"""The console's fixtures for the markup tests: shared, not copied.

`console` (the web app with seeded conversations, logged-in helpers) and the autouse cheap
argon2 hashing come from tests/console/conftest.py.
"""

from tests.console.conftest import console, quick_argon2  # noqa: F401
