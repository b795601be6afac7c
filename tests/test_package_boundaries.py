"""The packages depend on aiops_common, never on each other, and each imports without the other's libraries.

Each check imports every module of a package in a fresh interpreter in which the forbidden packages
cannot be imported (as after `pip install 'aiops-prometheus[receiver]'`, which has no numpy or prophet).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

pytestmark = pytest.mark.integration  # starts an interpreter per package

IMPORT_ALL_WITHOUT = textwrap.dedent("""
    import importlib, pkgutil, sys

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FORBIDDEN:
                raise ImportError(f"{name} may not be imported here")
            return None

    sys.meta_path.insert(0, Refuse())
    package = importlib.import_module(PACKAGE)
    for info in pkgutil.walk_packages(package.__path__, PACKAGE + "."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    print("imported", len([m for m in sys.modules if m.startswith(PACKAGE)]), "modules")
""")


def import_all(package: str, forbidden: set[str]) -> subprocess.CompletedProcess:
    code = f"PACKAGE = {package!r}\nFORBIDDEN = {sorted(forbidden)!r}\n" + IMPORT_ALL_WITHOUT
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("package, forbidden", [
    ("aiops_common", {"exporter", "alertmanager_receiver", "numpy", "pandas", "flask", "sqlalchemy"}),
    ("alertmanager_receiver", {"exporter", "numpy", "pandas", "prophet", "matplotlib", "drain3", "pebble"}),
    ("exporter", {"alertmanager_receiver", "flask", "sqlalchemy", "psycopg", "prophet"}),
])
def test_every_module_of_a_package_imports_without_the_other_programs_libraries(package, forbidden):
    result = import_all(package, forbidden)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("imported")
