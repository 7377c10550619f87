"""The documentation cannot rot: the README stays a front page, every section it once held has a
home in docs/, every command and flag the docs show exists, the version is one, and the site
builds with --strict (broken links and pages missing from the nav fail)."""
import os
import re
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import electrode_ml
from electrode_ml.cli import COMMANDS

REPOSITORY = Path(__file__).resolve().parents[1]
DOCS = REPOSITORY / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
CLI = [str(Path(sys.executable).parent / "electrode-ml")]

# The README's sections before it became a front page (commit fa655d8): each must be a heading of a page.
FORMER_README_SECTIONS = (
    "The two commands", "Profiles", "Changing a parameter", "Comparing experiments",
    "Sharing results and trained models", "The pipeline", "Where the fits run", "How far to trust a prediction",
    "`prepare` parameters", "How the cluster defaults were chosen", "Featurization speed", "Featurizers fail loudly",
    "Models", "CrabNet at its published size on a CUDA GPU", "Adding a model or a target", "Metrics",
    "Reproducibility", "Known limits", "Screening new compositions", "Screening many candidates: `electrode-ml screen`",
    "Errors", "Data", "Environment", "Licence and citation", "Architecture", "Docker",
)


def test_the_readme_is_a_front_page():
    readme = (REPOSITORY / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    assert "make reproduce" in readme and "make test" in readme and "](paper/figures/" in readme
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPOSITORY / link).is_file(), f"the README links {link}, which does not exist"


def test_every_former_readme_section_has_a_page():
    headings = {line.lstrip("#").strip() for page in PAGES for line in page.read_text().splitlines()
                if line.startswith("#")}
    missing = [section for section in FORMER_README_SECTIONS if section not in headings]
    assert not missing, f"sections of the former README with no heading in docs/: {missing}"


def test_every_page_is_in_the_nav():
    def entries(nav):
        for item in nav:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            yield from entries(value) if isinstance(value, list) else [value]

    config = yaml.load((REPOSITORY / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    listed = set(entries(config["nav"]))
    assert {str(page.relative_to(DOCS)) for page in PAGES} <= listed


@cache
def help_text(command: str) -> str:
    result = subprocess.run([*CLI, command, "--help"], capture_output=True, text=True, cwd=REPOSITORY, timeout=120)
    assert result.returncode == 0, f"electrode-ml {command} --help failed: {result.stderr[-2000:]}"
    return result.stdout


FLAG = r"(?<![\w-])(--[a-z][a-z0-9-]*)"


def code_of(path: Path) -> list[str]:
    """The code a page shows: each line of its fenced blocks without its shell comment, and each
    inline code span."""
    code, fenced = [], False
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            code.append(line.split(" #", 1)[0])
        else:
            code += re.findall(r"`([^`]+)`", line)
    return code


def documented_calls() -> list[tuple[str, str, tuple[str, ...]]]:
    """(file, command, its flags) for every `electrode-ml <command> ...` the README and the docs show."""
    calls = []
    for path in [REPOSITORY / "README.md", *PAGES]:
        for code in code_of(path):
            for command, rest in re.findall(r"electrode-ml ([a-z][a-z_-]*)(.*)", code):
                rest = re.split(r"[|;&]|electrode-ml ", rest)[0]  # up to the next command
                calls.append((str(path.relative_to(REPOSITORY)), command, tuple(sorted(set(re.findall(FLAG, rest))))))
    return sorted(set(calls))


def test_the_docs_show_commands():
    calls = documented_calls()
    assert len({command for _, command, _ in calls}) >= 8
    assert any(flags for _, _, flags in calls)


@pytest.mark.parametrize("where, command, flags", documented_calls())
def test_every_documented_command_and_flag_exists(where, command, flags):
    """A renamed command or flag fails here, naming the page that still shows the old one."""
    assert command in COMMANDS, f"{where} shows `electrode-ml {command}`, which is not a command"
    options = set(re.findall(FLAG, help_text(command)))
    unknown = [flag for flag in flags if flag not in options]
    assert not unknown, f"{where} shows `electrode-ml {command} {' '.join(unknown)}`, which it does not take"


def test_the_version_is_declared_once():
    version = electrode_ml.__version__
    assert metadata.version("electrode-ml") == version  # pyproject.toml reads it
    assert yaml.safe_load((REPOSITORY / "CITATION.cff").read_text())["version"] == version
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (REPOSITORY / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert released and released[0] == version, "CHANGELOG.md's latest release is not the package's version"
    result = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == f"electrode-ml {version}"


@pytest.mark.slow  # MkDocs with mkdocstrings over the package: about half a minute
def test_the_site_builds_strictly(tmp_path):
    result = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir",
                             str(tmp_path / "site")], capture_output=True, text=True, cwd=REPOSITORY, timeout=600,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "paper" / "REPRODUCTION" / "index.html").exists()  # the report joins the site
    api = (tmp_path / "site" / "reference" / "models" / "index.html").read_text()
    assert "make_model" in api  # mkdocstrings read the docstrings
