"""The project's own settings, from its package metadata: version and URLs.

The repository and the book each have ONE setting, ``[project.urls]`` in ``pyproject.toml``
(``Repository`` and ``Documentation``). In a checkout they are read from that ``pyproject.toml``
(so an editable install never shows stale ones); an installed wheel carries them in its
metadata.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["book_url", "checkout_urls", "project_urls", "repository_url"]

_PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def checkout_urls(path: Path | None = None) -> dict[str, str]:
    """``[project.urls]`` of the checkout's pyproject.toml ({} outside a kernelflows checkout)."""
    path = _PYPROJECT if path is None else path
    if not path.is_file() or not re.search(r'^name = "kernelflows"$', path.read_text(), re.M):
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the table is flat, read its lines
        text = path.read_text()
        m = re.search(r"^\[project\.urls\]\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
        pairs = re.findall(r'^\s*"?([\w .-]+?)"?\s*=\s*"([^"]+)"', m.group(1), re.M) if m else []
        return dict(pairs)
    return dict(tomllib.loads(path.read_text()).get("project", {}).get("urls", {}))


def project_urls() -> dict[str, str]:
    """``{label: url}`` of the project (``Repository``, ``Documentation``)."""
    from importlib.metadata import PackageNotFoundError, metadata

    checkout = checkout_urls()
    if checkout:
        return checkout
    try:
        entries = metadata("kernelflows").get_all("Project-URL") or []
    except PackageNotFoundError:
        entries = []
    urls = {}
    for entry in entries:
        label, _, url = entry.partition(",")
        urls[label.strip()] = url.strip()
    return urls


def repository_url() -> str:
    """The repository's URL (``[project.urls] Repository``), without a trailing slash."""
    return project_urls().get("Repository", "").rstrip("/")


def book_url() -> str:
    """The published book's URL (``[project.urls] Documentation``)."""
    return project_urls().get("Documentation", "")
