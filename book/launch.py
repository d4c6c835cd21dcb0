"""Launch links of a lecture page: Binder, Colab and a JupyterHub, each opening the notebook the
reader sees (``lectures/NN.ipynb`` in the instructor's book, ``assignments/NN.ipynb`` in the
student book) in the repository.

The repository is ``[project.urls] Repository`` of ``pyproject.toml`` (the project's one setting
for it). The branch and the services are set in ONE place, :data:`LAUNCH` below; an empty URL
drops its button. ``KERNELFLOWS_JUPYTERHUB_URL`` in the environment overrides the JupyterHub for
one build (``make book KERNELFLOWS_JUPYTERHUB_URL=https://hub.example.edu``).

Binder builds its environment from the repository's ``environment.yml``; the JupyterHub link
is an nbgitpuller link (the hub needs nbgitpuller installed), which clones the repository into
the user's home and opens the notebook there.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlencode, urlsplit

#: The launch settings of the book: an instructor sets them here.
LAUNCH = {
    "branch": "main",
    "binderhub_url": "https://mybinder.org",
    "colab_url": "https://colab.research.google.com",
    # a course's JupyterHub with nbgitpuller, e.g. "https://hub.example.edu"; empty: no button
    "jupyterhub_url": "",
}


def settings() -> dict:
    out = dict(LAUNCH)
    hub = os.environ.get("KERNELFLOWS_JUPYTERHUB_URL")
    if hub is not None:
        out["jupyterhub_url"] = hub
    return out


def github_parts(repository: str) -> tuple[str, str] | None:
    """``(owner, name)`` of a ``https://github.com/OWNER/NAME`` URL, else None."""
    parts = urlsplit(repository.rstrip("/"))
    path = [p for p in parts.path.split("/") if p]
    if parts.scheme == "https" and parts.netloc == "github.com" and len(path) == 2:
        return path[0], path[1].removesuffix(".git")
    return None


def launch_links(repository: str, notebook: str, launch: dict | None = None) -> list[dict]:
    """``[{"text", "url"}]``: the buttons for the repository's ``notebook`` (a path from its
    root, e.g. ``assignments/02_mmd.ipynb``)."""
    launch = settings() if launch is None else launch
    repository = repository.rstrip("/")
    if not repository.startswith("https://"):
        raise ValueError(f"repository: an https URL is needed, got {repository!r}")
    if notebook.startswith("/") or ".." in notebook.split("/"):
        raise ValueError(f"notebook: a path inside the repository is needed, got {notebook!r}")
    branch = launch["branch"]
    gh = github_parts(repository)
    links = []
    binder = launch.get("binderhub_url", "").rstrip("/")
    if binder:
        where = f"gh/{gh[0]}/{gh[1]}" if gh else f"git/{quote(repository, safe='')}"
        links.append(
            {
                "text": "Binder",
                "url": f"{binder}/v2/{where}/{quote(branch)}?{urlencode({'labpath': notebook})}",
            }
        )
    colab = launch.get("colab_url", "").rstrip("/")
    if colab and gh:  # Colab opens notebooks from GitHub only
        links.append(
            {
                "text": "Colab",
                "url": f"{colab}/github/{gh[0]}/{gh[1]}/blob/{quote(branch)}/{quote(notebook)}",
            }
        )
    hub = launch.get("jupyterhub_url", "").rstrip("/")
    if hub:
        name = repository.rsplit("/", 1)[1].removesuffix(".git")
        query = urlencode(
            {"repo": repository, "branch": branch, "urlpath": f"lab/tree/{name}/{notebook}"}
        )
        links.append({"text": "JupyterHub", "url": f"{hub}/hub/user-redirect/git-pull?{query}"})
    return links
