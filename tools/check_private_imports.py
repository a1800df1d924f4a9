"""Fail when a kit_py module uses another package's private name (part of `make lint`).

A package is `kit_py.<name>` (kit_py.session, kit_py.engine, ...); the top-level modules (errors, text,
config) count as packages of their own. Inside one package private names are fair game; across
packages only public names may be used, so a package can rename its internals freely. Caught:

    from kit_py.session.context import _chain        # a private name
    import kit_py.session._store                      # a private module
    from kit_py.session import context; context._x   # a private attribute of an imported module

ruff's PLC2701 cannot do this: it treats the whole kit_py tree as one package. import-linter's
`private_modules` contract covers modules only, not names. Usage: python tools/check_private_imports.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "kit_py"


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """kit_py.session.context -> kit_py.session; kit_py.errors -> kit_py.errors; kit_py -> kit_py."""
    return ".".join(module.split(".")[:2])


def is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def resolve_from(module: str, is_init: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` names (relative imports included)."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_init:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def dotted(node: ast.expr) -> list[str] | None:
    """`a.b.c` as ["a", "b", "c"]; None for anything that is not a plain attribute chain."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return names[::-1]


def check_file(path: Path) -> list[str]:
    module = module_name(path)
    own = package_of(module)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    problems: list[str] = []
    bound: dict[str, str] = {}  # local name -> kit_py module it refers to

    def report(node: ast.stmt | ast.expr, what: str) -> None:
        problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: {what}")

    def foreign(target: str) -> bool:
        return target.split(".")[0] == PACKAGE and package_of(target) != own

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not foreign(alias.name):
                    continue
                if any(is_private(p) for p in alias.name.split(".")):
                    report(node, f"imports the private module {alias.name}")
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            source = resolve_from(module, path.name == "__init__.py", node)
            for alias in node.names:
                target = f"{source}.{alias.name}"
                if not foreign(target):
                    continue
                if any(is_private(p) for p in target.split(".")):
                    report(node, f"imports the private name {target}")
                elif is_module(target):
                    bound[alias.asname or alias.name] = target
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not is_private(node.attr):
            continue
        chain = dotted(node)
        if not chain or chain[0] not in bound:
            continue
        target = ".".join([bound[chain[0]], *chain[1:]])
        # `import kit_py` binds the root: kit_py.session.context._x names its package only here.
        if foreign(target):
            report(node, f"uses the private name {target}")
    return problems


def main() -> int:
    problems: list[str] = []
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        problems.extend(check_file(path))
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} use(s) of another package's private names", file=sys.stderr)
        return 1
    print("private names: no package uses another package's private names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
