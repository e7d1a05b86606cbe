"""Real installs for plugin tests: a virtualenv layered on the running environment.

Testing discovery in process (fake entry points) says nothing about packaging: a typo in
``[project.entry-points.plugformers]``, a module left out of the wheel, an entry module
that imports torch. ``LayeredVenv`` makes a fresh virtualenv that sees every package of
the environment running the tests (torch, plugformers, pytest) through a ``.pth`` file,
and pip-installs the packages under test into it, offline, in a second or two each::

    from plugformers.testing.venv import LayeredVenv, write_plugin_package

    venv = LayeredVenv.create(tmp_path / "venv")
    venv.install(write_plugin_package(tmp_path / "pkg", "my-plugin", "mine", PLUGIN_SOURCE))
    out = venv.python("-c", "import plugformers; print(plugformers.registry.model_types())")

The venv's own site-packages come first on its sys.path, so what it installs shadows the
parent's packages; nothing is installed into the parent environment.

``LayeredVenv.declared`` makes the other kind, the environment a user who runs ``pip
install plugformers plugformers-bert`` gets: it sees only the distributions that the
projects under test declare (their requirements followed through, extras and markers
evaluated), linked in from the running environment, plus the installer and test runner
(pip, setuptools, pytest). No oracle, no test requirement, no undeclared package::

    venv = LayeredVenv.declared(tmp_path / "venv", ["core", "plugins/bert"])
    venv.python("-c", "import numpy")  # works only if some project declares numpy
"""

from __future__ import annotations

import importlib.metadata
import os
import site
import subprocess
import sys
import sysconfig
import textwrap
import tomllib
from pathlib import Path

__all__ = ["LayeredVenv", "write_plugin_package", "declared_closure", "project_name", "project_requirements"]

# What installs and tests the projects; linked into a declared-only venv beside them.
TOOLS = ("pip", "setuptools", "pytest")


class LayeredVenv:
    """A virtualenv whose interpreter also sees the running environment's packages."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.bin = self.path / ("Scripts" if os.name == "nt" else "bin")
        self.executable = self.bin / ("python.exe" if os.name == "nt" else "python")

    @classmethod
    def create(cls, path: str | os.PathLike) -> LayeredVenv:
        venv = cls(path)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv.path)], check=True,
                       capture_output=True)
        purelib = venv.python("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
        parents = [p for p in dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]])
                   if os.path.isdir(p)]
        # addsitedir also runs the parents' .pth files (editable installs among them).
        lines = [f"import site; site.addsitedir({p!r})" for p in parents]
        Path(purelib, "_plugformers_parent_env.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return venv

    @classmethod
    def declared(cls, path: str | os.PathLike, projects: list[str | os.PathLike], *,
                 extra: tuple[str, ...] = (), tools: tuple[str, ...] = TOOLS) -> LayeredVenv:
        """A virtualenv holding ``projects`` (folders with a pyproject.toml), installed from
        their folders, and of the running environment only what they declare, followed
        through (``declared_closure``), plus ``extra`` distributions taken as they are
        (without their requirements: data packages installed with --no-deps) and
        ``tools`` with their requirements. A project that another one requires is the
        folder's, not the running environment's copy."""
        venv = cls(path)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv.path)], check=True,
                       capture_output=True)
        purelib = Path(venv.python("-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
        folders = [Path(p).resolve() for p in projects]
        names = {project_name(f) for f in folders}
        wanted = [r for f in folders for r in project_requirements(f)]
        dists = declared_closure(wanted + list(tools), skip=names)
        dists.update({_canonical(e): importlib.metadata.distribution(e) for e in extra})
        for dist in dists.values():
            _link_distribution(dist, purelib)
        venv.python("-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", "--no-deps",
                    *map(str, folders))
        return venv

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The environment of a child process; a value of None removes the variable."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PLUGFORMERS_")}
        env.pop("PYTHONPATH", None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env.update({"PYTHONDONTWRITEBYTECODE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def python(self, *args: str, env: dict[str, str | None] | None = None, check: bool = True,
               cwd: str | os.PathLike | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """Run the venv's interpreter; raises with its output when ``check`` and it fails."""
        proc = subprocess.run([str(self.executable), *args], capture_output=True, text=True,
                              env=self.env(**(env or {})), cwd=cwd, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)[:200]} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
                f"\n--- stderr\n{proc.stderr[-4000:]}"
            )
        return proc

    def install(self, *projects: str | os.PathLike, editable: bool = False) -> None:
        """pip-install project folders into the venv: offline, without build isolation
        (setuptools comes from the parent environment) and without dependencies (the
        parent has them)."""
        args = ["-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", "--no-deps"]
        for project in projects:
            args += ["-e", str(project)] if editable else [str(project)]
        self.python(*args)


def write_plugin_package(folder: str | os.PathLike, distribution: str, plugin: str, entry_source: str,
                         files: dict[str, str] | None = None, version: str = "1.0") -> Path:
    """Write a minimal plugin project: pyproject.toml whose ``plugformers`` entry point
    ``plugin`` names ``<package>.plugin``, holding ``entry_source``; ``files`` adds other
    modules of the package (``{"modeling.py": "..."}``). The package is the distribution
    name with '-' as '_'. Returns the folder."""
    folder = Path(folder)
    package = distribution.replace("-", "_")
    src = folder / "src" / package
    src.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{distribution}"
        version = "{version}"
        dependencies = ["plugformers"]

        [project.entry-points.plugformers]
        {plugin} = "{package}.plugin"

        [tool.setuptools.packages.find]
        where = ["src"]
        """), encoding="utf-8")
    (src / "__init__.py").write_text("", encoding="utf-8")
    (src / "plugin.py").write_text(textwrap.dedent(entry_source), encoding="utf-8")
    for name, text in (files or {}).items():
        (src / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def project_name(folder: str | os.PathLike) -> str:
    """The normalised distribution name of the project in ``folder`` (its pyproject.toml)."""
    folder = Path(folder)
    return _canonical(tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"])


def project_requirements(folder: str | os.PathLike) -> list[str]:
    """The ``[project] dependencies`` of the project in ``folder``."""
    folder = Path(folder)
    return tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))["project"].get("dependencies", [])


def declared_closure(requirements: list[str], *, skip: set[str] = frozenset()) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions that ``requirements`` need, following each one's own
    requirements (with the extras asked for, markers evaluated for this interpreter).
    Names in ``skip`` are not followed. Raises when a needed distribution is not
    installed or its version does not satisfy the requirement."""
    from packaging.requirements import Requirement

    found: dict[str, importlib.metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    todo = [(Requirement(r), "the projects") for r in requirements]
    while todo:
        req, wanted_by = todo.pop()
        name = _canonical(req.name)
        if name in skip:
            continue
        try:
            dist = found.get(name) or importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            raise RuntimeError(f"{wanted_by} require {req}, which is not installed in {sys.prefix}") from None
        if not req.specifier.contains(dist.version, prereleases=True):
            raise RuntimeError(f"{wanted_by} require {req}; {sys.prefix} has {dist.version}")
        new_extras = set(req.extras) - extras_seen.get(name, set())
        if name in found and not new_extras:
            continue
        found[name] = dist
        extras_seen.setdefault(name, set()).update(req.extras)
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *extras_seen[name])):
                todo.append((sub, f"{dist.metadata['Name']} {dist.version}"))
    return found


def _link_distribution(dist: importlib.metadata.Distribution, purelib: Path) -> None:
    """Symlink a distribution's top-level files and folders (packages, .dist-info, .pth,
    bundled libraries) from its site-packages into ``purelib``."""
    root = Path(dist.locate_file(""))
    for top in sorted({Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}):
        target, link = root / top, purelib / top
        if target.exists() and not link.exists():
            link.symlink_to(target)
