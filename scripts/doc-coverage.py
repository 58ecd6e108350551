#!/usr/bin/env python3
"""Counts public declarations without a doc comment, per module (issue 17).

A declaration counts when it carries `public` or `open` (protocol requirements and enum
cases inherit their access and are not counted). It is documented when the line before it,
skipping attributes such as `@inlinable`, ends a `///` or `/** */` comment. Witnesses of
standard-library protocol requirements (`description`, `hash(into:)`, `==`, `makeIterator`,
...) inherit their documentation and are skipped unless `--all` is given.

Usage: scripts/doc-coverage.py [--all] [--list] [--root DIR] [MODULE ...]
(default: every module under the repository's Sources/; --root names another Sources/)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Sources"
DECL = re.compile(
    r"^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*"
    r"(?:(?:public|open|final|static|class|override|nonisolated|mutating|nonmutating|indirect|convenience|required|consuming|borrowing)\s+)*"
    r"(?:public|open)\s+"
    r"(?:(?:final|static|class|override|nonisolated|mutating|nonmutating|indirect|convenience|required|consuming|borrowing|private\(set\)|internal\(set\)|package\(set\)|fileprivate\(set\))\s+)*"
    r"(func|var|let|init[?!]?|subscript|typealias|struct|class|enum|protocol|actor|associatedtype|case)\b"
)
ATTRIBUTE = re.compile(r"^\s*(?:@[\w.]+(?:\([^)]*\))?\s*)+$")
WITNESSES = re.compile(
    r"\b(?:var description\b|var debugDescription\b|func hash\(into|static func ==|static func <[ (]|"
    r"func encode\(to encoder|init\(from decoder|func makeIterator\(|func makeAsyncIterator\(|"
    r"mutating func next\(|func next\(\)|var startIndex\b|var endIndex\b|func index\(after|"
    r"func index\(before|var errorDescription\b|func callAsFunction\()"
)


def undocumented(path, include_witnesses):
    lines = path.read_text().splitlines()
    total, missing = 0, []
    for number, line in enumerate(lines):
        if not DECL.match(line) or re.match(r"^\s*(?:public|open)\s+extension\b", line):
            continue
        if not include_witnesses and WITNESSES.search(line):
            continue
        total += 1
        previous = number - 1
        while previous >= 0 and ATTRIBUTE.match(lines[previous]):
            previous -= 1
        before = lines[previous].strip() if previous >= 0 else ""
        if not (before.startswith("///") or before.endswith("*/")):
            missing.append((number + 1, line.strip()))
    return total, missing


def main(argv):
    global ROOT
    if "--root" in argv:
        at = argv.index("--root")
        ROOT = pathlib.Path(argv[at + 1]).resolve()
        del argv[at : at + 2]
    include_witnesses = "--all" in argv
    listing = "--list" in argv
    modules = [a for a in argv if not a.startswith("--")] or sorted(
        p.name for p in ROOT.iterdir() if p.is_dir() and any(p.rglob("*.swift"))
    )
    grand_total = grand_missing = 0
    print(f"{'module':<20}{'public':>8}{'undocumented':>14}")
    for module in modules:
        total = 0
        missing = []
        for path in sorted((ROOT / module).rglob("*.swift")):
            count, absent = undocumented(path, include_witnesses)
            total += count
            missing += [(path.relative_to(ROOT), n, text) for n, text in absent]
        grand_total += total
        grand_missing += len(missing)
        print(f"{module:<20}{total:>8}{len(missing):>14}")
        if listing:
            for path, number, text in missing:
                print(f"    {path}:{number}: {text}")
    print(f"{'total':<20}{grand_total:>8}{grand_missing:>14}")


if __name__ == "__main__":
    main(sys.argv[1:])
