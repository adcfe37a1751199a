"""The ``reference`` package's public names: declared in ``__all__``, defined where they are exported.

Read from the source (``ast``), so nothing is imported. A package ``__init__`` may re-export its
submodules' names (``reference.reproduction`` does, for the commands that only need
``write_index``); every other module exports only what it defines, so each public name has one home.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "reference"
MODULES = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if path.name == "__init__.py" or not path.name.startswith("_")  # not __main__, not private modules
)


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _top_level(path: Path) -> tuple[list[str] | None, dict[str, ast.AST]]:
    """The module's ``__all__`` (None without one) and its top-level definitions by name."""
    exported, defined = None, {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined[node.name] = node
        for target in targets:
            if isinstance(target, ast.Name):
                defined[target.id] = node
                if target.id == "__all__":
                    exported = list(ast.literal_eval(node.value))
    return exported, defined


@pytest.mark.parametrize("path", MODULES, ids=_id)
def test_every_module_with_code_declares_its_public_names_in_all(path):
    exported, defined = _top_level(path)
    assert exported is not None or not defined, f"{_id(path)} has no __all__"


@pytest.mark.parametrize("path", [p for p in MODULES if p.name != "__init__.py"], ids=_id)
def test_every_exported_name_is_defined_in_the_module_that_exports_it(path):
    exported, defined = _top_level(path)
    assert set(exported or ()) <= set(defined), f"{_id(path)} re-exports {set(exported) - set(defined)}"


@pytest.mark.parametrize("path", MODULES, ids=_id)
def test_every_function_and_class_left_out_of_all_has_a_leading_underscore(path):
    exported, defined = _top_level(path)
    helpers = {
        name
        for name, node in defined.items()
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and name not in (exported or ())
    }
    assert all(name.startswith("_") for name in helpers), f"{_id(path)}: {sorted(helpers)}"
