#!/usr/bin/env python3
"""Extracts the code blocks of README.md so that the package test runs each as written.

    python3 scripts/readme_blocks.py README.md OUTDIR

Every fenced block must name its language. `sh` (commands) and `text` (output) blocks are
documentation and are not extracted; every other block is a complete program:

    c        OUTDIR/NN.c       compiled against the installed SDK via pkg-config, run
    cmake    OUTDIR/NN/CMakeLists.txt, with the `cpp` block that follows it as
    cpp      OUTDIR/NN/main.cpp: a CMake project built with find_package(libcce), run
    python   OUTDIR/NN.py      run with the Python of a venv holding the installed wheel
    js       OUTDIR/NN.cjs     (NN.mjs if it uses `import`/top-level `await`), run by Node
                               next to the installed npm packages
    rust     OUTDIR/NN.rs      must equal examples/rust/readme.rs (run by make test-rust)

Prints one line per extracted file; exits 1 on an unmarked or unknown block, or a `cpp`
block without its `cmake` block.
"""

import re
import sys
from pathlib import Path

NOT_RUN = {"sh", "text"}
EXT = {"c": ".c", "python": ".py", "rust": ".rs"}


def blocks(text):
    """(line number, language, body) of each fenced block."""
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = re.match(r"^```(.*)$", lines[i].rstrip("\n"))
        if not m:
            i += 1
            continue
        start, lang = i + 1, m.group(1).strip()
        body = []
        i += 1
        while i < len(lines) and lines[i].rstrip("\n") != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise SystemExit(f"README.md:{start}: unterminated code block")
        i += 1
        yield start, lang, "".join(body)


def main():
    readme, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    errors = []
    pending_cmake = None
    n = 0
    for line, lang, body in blocks(readme.read_text(encoding="utf-8")):
        if lang in NOT_RUN:
            continue
        n += 1
        name = f"{n:02d}"
        if pending_cmake is not None and lang != "cpp":
            errors.append(f"README.md:{pending_cmake[0]}: a cmake block must be followed by its cpp block")
            pending_cmake = None
        if lang == "cmake":
            pending_cmake = (line, body)
        elif lang == "cpp":
            if pending_cmake is None:
                errors.append(f"README.md:{line}: a cpp block needs the cmake block before it")
                continue
            d = out / name
            d.mkdir(exist_ok=True)
            (d / "CMakeLists.txt").write_text(pending_cmake[1], encoding="utf-8")
            (d / "main.cpp").write_text(body, encoding="utf-8")
            print(f"cmake {d} README.md:{line}")
            pending_cmake = None
        elif lang == "js":
            module = re.search(r"^\s*(import\s|export\s|await\s)", body, re.M)
            f = out / (name + (".mjs" if module else ".cjs"))
            f.write_text(body, encoding="utf-8")
            print(f"js {f} README.md:{line}")
        elif lang in EXT:
            f = out / (name + EXT[lang])
            f.write_text(body, encoding="utf-8")
            print(f"{lang} {f} README.md:{line}")
        else:
            errors.append(
                f"README.md:{line}: code block marked {lang or '(nothing)'!r}: mark it "
                "sh or text, or make it a c/cmake+cpp/python/js/rust program"
            )
    if pending_cmake is not None:
        errors.append(f"README.md:{pending_cmake[0]}: a cmake block must be followed by its cpp block")
    for e in errors:
        print(e, file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
