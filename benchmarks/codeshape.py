"""The shape of the code: imports between top-level packages and modules, cycles, the longest functions.

    python -m benchmarks.codeshape [--longest 10] [--modules] [ROOT]

Reads the source with `ast` only (nothing is imported or run). Prints:
- imports between top-level packages (e.g. alertmanager_receiver -> aiops_common), with counts;
- import cycles between modules of the product packages (module-level and function-level imports);
- the N longest functions (lines from `def` to the last line of the body).
"""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path

PACKAGES = ("aiops_common", "exporter", "alertmanager_receiver")
OTHERS = ("devstack", "benchmarks", "demo", "grafana", "tests")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(module: str, node: ast.ImportFrom, is_package: bool) -> list[str]:
    """Absolute module names an ImportFrom refers to (the module and each imported submodule candidate)."""
    if node.level:
        base = module.split(".")
        if not is_package:
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def imports_of(root: Path, path: Path) -> list[str]:
    module = module_name(root, path)
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += resolve(module, node, path.name == "__init__.py")
    return found


def source_files(root: Path, top: tuple[str, ...]) -> list[Path]:
    return sorted(p for name in top for p in (root / name).rglob("*.py") if ".venv" not in p.parts)


def module_graph(root: Path, top: tuple[str, ...]) -> dict[str, set[str]]:
    files = source_files(root, top)
    known = {module_name(root, p) for p in files}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in files:
        module = module_name(root, path)
        graph[module]
        for target in imports_of(root, path):
            if target in known and target != module:
                graph[module].add(target)
    return graph


def package_edges(graph: dict[str, set[str]]) -> dict[tuple[str, str], int]:
    edges: dict[tuple[str, str], int] = defaultdict(int)
    for module, targets in graph.items():
        for target in targets:
            a, b = module.split(".")[0], target.split(".")[0]
            if a != b:
                edges[(a, b)] += 1
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def longest_functions(root: Path, top: tuple[str, ...], count: int) -> list[tuple[int, str]]:
    sizes = []
    for path in source_files(root, top):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                sizes.append((length, f"{path.relative_to(root)}:{node.lineno} {node.name}"))
    return sorted(sizes, reverse=True)[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", default=".", help="repository root (default: .)")
    parser.add_argument("--longest", type=int, default=10, help="how many of the longest functions to list")
    parser.add_argument("--modules", action="store_true", help="also list every module-to-module import")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    present = tuple(p for p in PACKAGES if (root / p).is_dir())
    graph = module_graph(root, present + tuple(p for p in OTHERS if (root / p).is_dir()))
    print("imports between top-level packages (importer -> imported: module imports):")
    for (a, b), n in sorted(package_edges(graph).items()):
        print(f"  {a} -> {b}: {n}")
    product = {m: {t for t in ts if t.split(".")[0] in present} for m, ts in graph.items()
               if m.split(".")[0] in present}
    found = cycles(product)
    print(f"import cycles between product modules: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    if args.modules:
        print("module imports (product packages):")
        for module in sorted(product):
            if product[module]:
                print(f"  {module} -> {', '.join(sorted(product[module]))}")
    print(f"the {args.longest} longest functions (lines):")
    for length, where in longest_functions(root, present, args.longest):
        print(f"  {length:4d}  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
