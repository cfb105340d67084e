"""The README and the user guide: every ```python block runs as written, no page points outside.

The blocks of one page run in order in one namespace (a page reads like a
session), in a scratch directory. ```{plot} blocks are run by the docs build
(matplotlib's plot directive), the examples by sphinx-gallery.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATED = {"_build", "auto_examples", "generated"}

# Extras a page may need; without them its blocks are skipped, not failed.
OPTIONAL = {"matplotlib", "dask", "distributed", "pandas", "pyarrow", "torch", "kymatio"}


def _pages():
    pages = [ROOT / "README.md"]
    pages += sorted(p for p in DOCS.glob("*.md"))
    return pages


def python_blocks(text):
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.S | re.M)


PAGES_WITH_CODE = [p for p in _pages() if python_blocks(p.read_text(encoding="utf-8"))]


def test_the_readme_and_the_guide_have_code():
    names = {p.name for p in PAGES_WITH_CODE}
    assert {"README.md", "transformers.md", "invariance.md", "parameters.md"} <= names


def test_python_blocks_are_found():
    text = "a\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\n"]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__main__"}
    for i, block in enumerate(python_blocks(page.read_text(encoding="utf-8"))):
        code = compile(block, f"{page.name}, python block {i + 1}", "exec")
        try:
            exec(code, namespace)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in OPTIONAL:
                pytest.skip(f"{page.name} needs {exc.name}, an optional extra")
            raise


# --------------------------------------------------------------------------
# Nothing points outside the repository
# --------------------------------------------------------------------------

#: The project's internal folders: never in anything published.
INTERNAL = re.compile(r"/work/|\.\./shared|shared/data")
#: Pages for users also name no machine's folders (a user's path is a placeholder).
FORBIDDEN = re.compile(INTERNAL.pattern + r"|/home/|/tmp/|/Users/")


def _files(folder, patterns):
    return [p for pattern in patterns for p in folder.rglob(pattern)
            if not GENERATED & set(p.relative_to(folder).parts)]


def _published_files():
    pages = [ROOT / "README.md", ROOT / "DEVELOPERS.md", ROOT / "pyproject.toml"]
    pages += _files(DOCS, ("*.md", "*.rst", "*.py"))
    pages += _files(ROOT / "examples", ("*.py", "*.rst", "*.md", "*.txt"))
    code = _files(ROOT / "featpool", ("*.py", "*.pyx", "*.pxd", "*.pyi"))
    code += _files(ROOT / "benchmarks", ("*.py",))
    return [(p, FORBIDDEN) for p in pages if p.exists()] + [(p, INTERNAL) for p in code]


def test_the_forbidden_pattern_catches_outside_paths():
    for text in ("see /work/shared/data/mnist", "the folder ../shared/x", "in shared/data/mnist"):
        assert INTERNAL.search(text) and FORBIDDEN.search(text), text
    assert FORBIDDEN.search("/tmp/x.png") and not INTERNAL.search("/tmp/x.png")
    assert not FORBIDDEN.search("docs/_static/readme_weights.png; shared and noisy machines")


@pytest.mark.parametrize("path, pattern", _published_files(),
                         ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else "")
def test_no_page_points_outside_the_repository(path, pattern):
    offences = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if pattern.search(line)]
    assert not offences, "\n".join(offences)


def _links(text):
    return re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(page):
    broken = []
    for link in _links(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+://|mailto:", link):
            continue
        if link.startswith("auto_examples/"):  # written by the docs build, from examples/
            name = Path(link).name
            source = "GALLERY_HEADER.rst" if name == "index" else name + ".py"
            if not (ROOT / "examples" / source).exists():
                broken.append(f"{link}: no examples/{source}")
            continue
        target = (page.parent / link).resolve()
        if ROOT not in target.parents and target != ROOT:
            broken.append(f"{link} leaves the repository")
        elif not target.exists():
            broken.append(f"{link} does not exist")
    assert not broken, broken


def test_the_documented_docs_build_is_the_one_ci_runs():
    command = "python -m sphinx -W --keep-going -b html docs docs/_build/html"
    for path in (ROOT / "DEVELOPERS.md", ROOT / "README.md",
                 ROOT / ".ci" / "run", DOCS / "conf.py"):
        assert command in path.read_text(encoding="utf-8"), path
