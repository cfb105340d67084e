"""Hypothesis profiles for the property-based tests (tests/test_properties.py).

``featpool-ci`` (the default): derandomized, a fixed number of examples per
test, no deadline (the CI machines are shared and slow), so the whole file
runs in well under a minute and a failure reproduces exactly.
``featpool-long``: random and many more examples, for a campaign by hand::

    HYPOTHESIS_PROFILE=featpool-long FEATPOOL_HYPOTHESIS_EXAMPLES=5000 \\
        python -m pytest tests/test_properties.py

``FEATPOOL_HYPOTHESIS_EXAMPLES`` sets the examples per test of either profile.
"""
import os

from hypothesis import HealthCheck, settings

_EXAMPLES = os.environ.get("FEATPOOL_HYPOTHESIS_EXAMPLES")
_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

settings.register_profile("featpool-ci", derandomize=True,
                          max_examples=int(_EXAMPLES or 120), **_COMMON)
settings.register_profile("featpool-long", derandomize=False,
                          max_examples=int(_EXAMPLES or 2000), **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "featpool-ci"))
