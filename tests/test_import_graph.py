"""The modules of the package import each other without a cycle.

Every import statement counts, those inside functions included: an import
moved into a function hides a cycle from start-up, not from a reader (lazy
imports of heavy third-party libraries are fine: they are not in the graph).
Importing ``a.b.c`` also runs the packages ``a.b`` and ``a`` first, so a module
depends on the packages above what it imports (except its own: they are
already running when it is imported).
"""

from __future__ import annotations

import ast
from pathlib import Path

import autocull

Graph = dict[str, set[str]]


def module_name(path: Path, root: Path) -> str:
    """Dotted name of a source file under ``root`` (the folder holding the top package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package_dir: Path) -> Graph:
    """Module -> modules of the same top package it imports (anywhere in its source)."""
    root = package_dir.parent
    files = {module_name(p, root): p for p in sorted(package_dir.rglob("*.py"))}
    graph: Graph = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            for target in _targets(node, name, is_package, files):
                graph[name].update(_with_parents(target, name, files))
    return graph


def _targets(node: ast.AST, name: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [t for alias in node.names if (t := _known(alias.name, modules))]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    found = []
    for alias in node.names:  # "from pkg import mod" imports the module pkg.mod
        submodule = f"{source}.{alias.name}"
        t = _known(submodule, modules) if submodule in modules else _known(source, modules)
        if t:
            found.append(t)
    return found


def _known(dotted: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``dotted`` that is one of our modules, or None (a third-party import)."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def _with_parents(target: str, importer: str, modules: dict[str, Path]) -> set[str]:
    """``target`` and the packages above it that importing it runs (not the importer's own ancestors)."""
    out = set()
    parts = target.split(".")
    for n in range(1, len(parts) + 1):
        dep = ".".join(parts[:n])
        if dep in modules and dep != importer and not importer.startswith(dep + "."):
            out.add(dep)
    return out


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / next(iter(files)).split("/")[0]


class TestThePackage:
    def test_autocull_imports_itself_without_a_cycle(self) -> None:
        graph = import_graph(Path(autocull.__file__).parent)
        assert cycles(graph) == []

    def test_the_graph_sees_the_stages(self) -> None:
        """A sanity check that the parser reads this package: known edges are there."""
        graph = import_graph(Path(autocull.__file__).parent)
        assert "autocull.exif" in graph["autocull.decode"]
        assert "autocull.measure.image" in graph["autocull.measure.noise"]
        assert "autocull.measure.faces" in graph["autocull.measure"]
        assert "autocull.measure" in graph["autocull.pipeline"]  # imported inside a function
        # the per-file pipeline runs in worker processes: it never reaches for the app object or the store itself
        assert not {"autocull.engine", "autocull.store", "autocull.taste"} & graph["autocull.pipeline"]
        assert not any(m.startswith("autocull.decode") for m in graph["autocull.exif"])
        assert "autocull.measure.sharpness" not in graph["autocull.measure.noise"]


class TestTheCheck:
    """The checker itself finds the cycles this package once had."""

    def test_a_cycle_through_an_import_inside_a_function_is_found(self, tmp_path: Path) -> None:
        pkg = write(
            tmp_path,
            {
                "pkg/__init__.py": "",
                "pkg/decode.py": "from . import exif\n",
                "pkg/exif.py": "def read():\n    from . import decode\n    return decode\n",
            },
        )
        assert cycles(import_graph(pkg)) == [["pkg.decode", "pkg.exif"]]

    def test_a_cycle_through_a_package_init_is_found(self, tmp_path: Path) -> None:
        pkg = write(
            tmp_path,
            {
                "pkg/__init__.py": "",
                "pkg/measure/__init__.py": "from pkg.faces import find\n",
                "pkg/measure/noise.py": "",
                "pkg/faces/__init__.py": "from .find import find\n",
                "pkg/faces/find.py": "from pkg.measure.noise import x\n",
            },
        )
        assert cycles(import_graph(pkg)) == [["pkg.faces", "pkg.faces.find", "pkg.measure"]]

    def test_a_package_importing_its_own_modules_is_no_cycle(self, tmp_path: Path) -> None:
        pkg = write(
            tmp_path,
            {
                "pkg/__init__.py": "",
                "pkg/measure/__init__.py": "from pkg.measure.sharpness import s\nfrom .faces import find\n",
                "pkg/measure/image.py": "import numpy\n",
                "pkg/measure/sharpness.py": "from pkg.measure.image import gray\n",
                "pkg/measure/faces/__init__.py": "from .find import find\n",
                "pkg/measure/faces/find.py": "from pkg.measure.sharpness import s\nfrom . import eyes\n",
                "pkg/measure/faces/eyes.py": "",
            },
        )
        graph = import_graph(pkg)
        assert cycles(graph) == []
        assert graph["pkg.measure.faces.find"] == {"pkg.measure.sharpness", "pkg.measure.faces.eyes"}
