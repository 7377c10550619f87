"""MkDocs hooks (mkdocs.yml): the report, paper/, joins the site as it is in the repository, its
pages, tables and figures at paper/..., so that the documentation links the pipeline's numbers
instead of typing them; and the changelog is the repository's own CHANGELOG.md."""
from pathlib import Path

from mkdocs.structure.files import File

REPOSITORY = Path(__file__).resolve().parents[1]
REPORT = REPOSITORY / "paper"


def on_files(files, config):
    for path in sorted(REPORT.rglob("*")):
        if path.is_file():
            files.append(File(str(path.relative_to(REPOSITORY)), str(REPOSITORY), config["site_dir"],
                              config["use_directory_urls"]))
    return files
