"""How soon an author sees a verdict under ``mkdocs serve`` with the lmverify plugin.

Lays the course out as its repository in a temporary folder (docs/01_foundations/, a mkdocs.yml with theme
material, arithmatex, admonitions, ``plugins: [search, lmverify]``), starts ``mkdocs serve`` on loopback,
then edits one worked number of attention_math.md back and forth (22.6 -> 22.9 -> 22.6 ...). For each edit
it prints: the wall time from the file write to the served page showing the new verdict (an erratum mark
for 22.9, or none), and the plugin's own re-verification time (its log line "verified 1 of 6 page(s) in
X s"). Run: ``python benchmarks/bench_mkdocs_serve.py --course ../shared/course [--edits 6] [--dirty]
[--no-report-page]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

CONFIG = """site_name: course
theme:
  name: material
  font: false
plugins:
  - search
  - lmverify
markdown_extensions:
  - pymdownx.highlight
  - pymdownx.superfences
  - pymdownx.arithmatex:
      generic: true
  - admonition
  - pymdownx.details
  - attr_list
  - md_in_html
  - tables
validation:
  links:
    not_found: info
"""
PAGE = "attention_math.md"
RIGHT, WRONG = r"= \sqrt{512} \approx 22.6\)", r"= \sqrt{512} \approx 22.9\)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--course", required=True)
    ap.add_argument("--edits", type=int, default=6)
    ap.add_argument("--dirty", action="store_true", help="mkdocs serve --dirty (rebuild only the changed pages)")
    ap.add_argument("--no-report-page", action="store_true", help="the plugin's option report_page: '' (no report page)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lmv-serve-"))
    docs = root / "docs" / "01_foundations"
    docs.mkdir(parents=True)
    for p in Path(args.course).glob("*.md"):
        if p.name not in ("README.md", "index.md"):
            shutil.copyfile(p, docs / p.name)
    config = CONFIG.replace("  - lmverify\n", "  - lmverify:\n      report_page: ''\n") if args.no_report_page else CONFIG
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(Path(sys.executable).with_name("mkdocs")), "serve", "-a", f"127.0.0.1:{port}"] + \
        (["--dirty"] if args.dirty else [])
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    server = subprocess.Popen(cmd, cwd=root, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    log: list[str] = []
    threading.Thread(target=lambda: [log.append(line) for line in server.stderr], daemon=True).start()
    url = f"http://127.0.0.1:{port}/01_foundations/attention_math/"

    def page() -> str:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read().decode("utf-8")
        except OSError:
            return ""

    try:
        t0 = time.monotonic()
        while "lmv-summary" not in page():
            if server.poll() is not None or time.monotonic() - t0 > 120:
                print("".join(log[-20:]), file=sys.stderr)
                return 1
            time.sleep(0.2)
        print(f"first build served after {time.monotonic() - t0:.1f} s; serve{' --dirty' if args.dirty else ''}"
              f"{'; no report page' if args.no_report_page else ''}")
        path = docs / PAGE
        rows = []
        for k in range(args.edits):
            old, new = (RIGHT, WRONG) if k % 2 == 0 else (WRONG, RIGHT)
            want_mark = new == WRONG
            n_lines = len(log)
            path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
            start = time.monotonic()
            while True:
                html = page()
                if ("erratum: 22.9 \u2192 22.6" in html) == want_mark and "lmv-summary" in html and \
                        any("lmverify: verified" in line for line in log[n_lines:]):
                    break
                if time.monotonic() - start > 60:
                    print("no new verdict within 60 s", file=sys.stderr)
                    return 1
                time.sleep(0.05)
            wall = time.monotonic() - start
            verify = next(float(m.group(1)) for line in log[n_lines:]
                          if (m := re.search(r"lmverify: verified 1 of \d+ page\(s\) in ([0-9.]+) s", line)))
            built = next((float(m.group(1)) for line in log[n_lines:]
                          if (m := re.search(r"Documentation built in ([0-9.]+) seconds", line))), float("nan"))
            rows.append((wall, verify, built))
            print(f"edit {k + 1} ({'22.6 -> 22.9' if want_mark else '22.9 -> 22.6'}): verdict served after {wall:.2f} s; "
                  f"mkdocs rebuild {built:.2f} s, of which lmverify re-verified the page in {verify:.3f} s")
            time.sleep(1.0)
        from statistics import median

        print(f"medians of {len(rows)}: served after {median(r[0] for r in rows):.2f} s, mkdocs rebuild "
              f"{median(r[2] for r in rows):.2f} s, lmverify re-verify {median(r[1] for r in rows):.3f} s "
              f"(re-verify min {min(r[1] for r in rows):.3f}, max {max(r[1] for r in rows):.3f})")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
