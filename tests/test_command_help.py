"""Every command the project ships answers --help with its usage and exits 0.

argparse formats a help string with %-style placeholders, so a literal percent sign in one (say "about
10% of the rows") breaks --help for the whole command; nothing else exercises that text.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest

from alertmanager_receiver.cli import build_parser as receiver_parser
from exporter.cli import build_parser as exporter_parser

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_PACKAGES = ("benchmarks", "devstack")


def subcommand_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The argument prefix of the parser and of every subcommand under it, depth first."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                paths += subcommand_paths(child, prefix + (name,))
    return paths


def modules_with_a_command_line() -> list[str]:
    """Modules under benchmarks/ and devstack/ that parse their own arguments (python -m <module> --help)."""
    return sorted(f"{package}.{path.stem}" for package in SCRIPT_PACKAGES
                  for path in (ROOT / package).glob("*.py")
                  if "argparse" in path.read_text() and "def main(" in path.read_text())


@pytest.mark.parametrize("parser_factory", [exporter_parser, receiver_parser], ids=["aiops-exporter", "aiops-receiver"])
def test_every_subcommand_of_the_two_programs_prints_its_help(parser_factory, capsys):
    paths = subcommand_paths(parser_factory())
    assert len(paths) >= 1
    for path in paths:
        with pytest.raises(SystemExit) as exit_info:
            parser_factory().parse_args([*path, "--help"])
        assert exit_info.value.code == 0, path
        assert "usage:" in capsys.readouterr().out, path


def test_the_exporter_has_its_documented_subcommands():
    assert {("score-csv",), ("check-config",), ("logs", "templates")} <= set(subcommand_paths(exporter_parser()))


@pytest.mark.parametrize("module_name", modules_with_a_command_line())
def test_every_benchmark_and_devstack_script_prints_its_help(module_name, capsys):
    module = importlib.import_module(module_name)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_the_scripts_found_include_the_quality_benchmarks():
    assert {"benchmarks.nab", "benchmarks.loghub", "benchmarks.rca_petshop"} <= set(modules_with_a_command_line())
