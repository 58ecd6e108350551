#!/usr/bin/env python3
"""Prints the `swift test --filter` regular expression that selects the tests carrying a
Swift Testing tag, e.g. `scripts/tagged-tests.py untrustedInput`.

`swift test --filter` matches test identifiers (`Module.Suite/test(_:)`), never tags, so the
tag in the sources stays the one list and this derives the filter from it: a suite tagged
`.tags(.NAME)` selects all its tests, a tagged `@Test` selects that test. It reads the
sources as text: the tag must be written as `.NAME` inside the `@Suite(...)`/`@Test(...)`
attribute, which must directly precede its `struct` or `func`.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
tag = sys.argv[1]
trait = re.compile(r"@(Suite|Test)\(([^@]*?)\.tags\(([^)]*)\)")
declaration = re.compile(r"\b(?:struct|final class|class|enum|actor)\s+(\w+)|\bfunc\s+(\w+)\s*\(")
container = re.compile(r"^(?:@\S.*?\s)?(?:struct|final class|class|enum|actor|extension)\s+(\w+)", re.M)

patterns = []
for module_dir in sorted((root / "Tests").iterdir()):
    if not module_dir.name.endswith("Tests") or not module_dir.is_dir():
        continue
    module = module_dir.name
    for path in sorted(module_dir.rglob("*.swift")):
        text = path.read_text()
        for match in trait.finditer(text):
            if not re.search(r"\.%s\b" % re.escape(tag), match.group(3)):
                continue
            found = declaration.search(text, match.end())
            if found is None:
                sys.exit(f"{path}: no declaration after a .{tag} tag")
            if match.group(1) == "Suite":
                patterns.append(rf"{module}\.{found.group(1)}/")
            else:
                suites = container.findall(text, 0, match.start())
                if not suites:
                    sys.exit(f"{path}: a tagged test outside any suite")
                patterns.append(rf"{module}\.{suites[-1]}/{found.group(2)}\(")
if not patterns:
    sys.exit(f"no test is tagged .{tag}")
print("|".join(patterns))
