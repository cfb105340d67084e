"""Run the docstring Examples of the imported featpool modules as doctests.

``pytest --doctest-modules`` would import the source tree, not the package
that the tests run against (an installed wheel, say); this runs the same
examples through ``doctest`` on the modules that ``import featpool`` found,
one test per docstring so that one bad example does not hide the others.
"""
import doctest
import importlib.util

import pytest

import featpool._cache
import featpool._config
import featpool.feature_names
import featpool.filters
import featpool.cli
import featpool.invariance
import featpool.io
import featpool.normalization
import featpool.pipeline
import featpool.pooling
import featpool.regions
import featpool.responses
import featpool.samples
import featpool.transformers

OPTIONFLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
MODULES = [
    featpool.pooling,
    featpool._cache,
    featpool._config,
    featpool.samples,
    featpool.invariance,
    featpool.normalization,
    featpool.feature_names,
    featpool.pipeline,
    featpool.regions,
    featpool.responses,
    featpool.filters._bank,
    featpool.filters.gabor,
    featpool.filters.classic,
    featpool.filters.learned,
    featpool.transformers,
    featpool.io,
    featpool.cli,
]
# featpool.plotting's examples draw: they run where the [plot] extra is installed.
if importlib.util.find_spec("matplotlib") is not None:
    import featpool.plotting

    MODULES.append(featpool.plotting)
# Docstrings whose examples are known to fail: strict xfail, so a fix shows.
KNOWN_BAD = {}


def _doctests():
    finder = doctest.DocTestFinder()
    for module in MODULES:
        for test in finder.find(module):
            if test.examples:
                marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_BAD[test.name])]
                         if test.name in KNOWN_BAD else [])
                yield pytest.param(test, id=test.name, marks=marks)


DOCTESTS = list(_doctests())


@pytest.mark.parametrize("test", DOCTESTS)
def test_docstring_examples(test):
    report = []
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    result = runner.run(test, out=report.append)
    assert result.attempted > 0
    assert result.failed == 0, "".join(report)


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_every_module_has_examples(module):
    # test_docstring_examples runs them all (doctest.testmod would run them again).
    assert any(p.id == module.__name__ or p.id.startswith(module.__name__ + ".")
               for p in DOCTESTS)


@pytest.mark.parametrize("name", featpool.pooling.__all__)
def test_public_functions_have_examples(name):
    names = {p.id for p in DOCTESTS}
    assert f"featpool.pooling.{name}" in names
