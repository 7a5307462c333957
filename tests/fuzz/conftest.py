"""Hypothesis profiles for the fuzz suite.

``ci`` (the default) is derandomized: the same examples on every run, so a failure in CI
reproduces locally. ``HYPOTHESIS_PROFILE=deep`` draws fresh random examples, many more of them
(``tests.support.fuzzing.examples`` scales each test's count), for a longer hunt.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
