"""Test-wide settings: in CI, Hypothesis draws the same examples every run (derandomized).

Locally the examples are random, so new runs keep exploring; a failure found
that way becomes an explicit ``@example`` in its test.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
