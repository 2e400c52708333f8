"""The MkDocs plugin of lm-math-verify: ``plugins: [search, lmverify]`` in a course's ``mkdocs.yml``.

On ``mkdocs build`` (and each rebuild of ``mkdocs serve``) it verifies the course's pages with the engine of
``lmverify report`` (:mod:`lmverify.mkdocs_plugin.engine`: ``build`` the first time, then only the pages
whose text changed), logs every finding (a warning when the gate fails on it, so ``mkdocs build --strict``
fails on findings not in the baseline; accepted findings at info level), marks the judged numbers on the
rendered pages (:mod:`lmverify.mkdocs_plugin.marks`), puts a summary box at the top of each verified page and
adds a "Verification report" page (the report's Markdown) to the site and its navigation.

Options (see docs/mkdocs.md): ``baseline``, ``fail_on``, ``pages``, ``code``, ``code_timeout``, ``mark``,
``examples_dir``, ``report_page``.
"""

from __future__ import annotations

import logging
import posixpath
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from lmverify.course.findings import KINDS, findings
from lmverify.course.gate import gate, read_baseline
from lmverify.course.judging import MISSING
from lmverify.mkdocs_plugin.engine import Verifier, digest
from lmverify.mkdocs_plugin.marks import ERRATA, page_marks, place, text
from lmverify.pages import CourseError
from lmverify.worked import WorkedExampleError

log = logging.getLogger("mkdocs.plugins.lmverify")

CSS = Path(__file__).with_name("lmverify.css")
CSS_URI = "assets/lmverify/lmverify.css"


class LMVerifyConfig(base.Config):
    baseline = c.Optional(c.Type(str))
    fail_on = c.Type((str, list), default="any")
    pages = c.ListOfItems(c.Type(str), default=[])
    code = c.Type(bool, default=False)
    code_timeout = c.Optional(c.Type((int, float)))  # CPU seconds per block; unset: the page's own or 300
    mark = c.Type(bool, default=True)
    examples_dir = c.Optional(c.Type(str))
    report_page = c.Type(str, default="lmverify-report.md")


def describe(e) -> str:
    """A finding in one line, as ``lmverify report`` prints it on stderr."""
    said = (f"claimed {e.claimed}, correct {e.correct}" if e.kind in ERRATA
            else e.claimed if e.kind in ("code", "timeout") else e.explanation if e.kind == MISSING
            else f"the page now reads {e.claimed}")
    return f"{e.kind}: {e.what}: {said}"


def _examples_stamp(examples_dir: Path | None) -> tuple:
    """The worked examples' files and their modification times: an edited example (or recipe) during
    ``mkdocs serve`` verifies every page again."""
    from lmverify.worked import EXAMPLES_DIR

    root = Path(examples_dir or EXAMPLES_DIR)
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in root.glob("*/*") if p.suffix in (".yaml", ".py")))


class LMVerifyPlugin(BasePlugin[LMVerifyConfig]):
    """Verify the course pages on every build, log the findings, mark the pages."""

    def __init__(self):
        self.verifier: Verifier | None = None  # kept across the rebuilds of mkdocs serve (see on_startup)
        self.last = None  # the last verification (engine.Run)
        self.reports = None
        self.page_of: dict[str, str] = {}  # docs src_uri -> course page name
        self.accepted: list = []

    # MkDocs keeps a plugin that has on_startup across the rebuilds of `mkdocs serve`: the per-page cache lives on
    def on_startup(self, *, command, dirty) -> None:
        self.command = command

    # -- options ------------------------------------------------------------------------------------------
    def on_config(self, config):
        opts = self.config
        raw = opts.fail_on
        kinds = [k.strip() for k in (raw.split(",") if isinstance(raw, str) else raw) if str(k).strip()]
        bad = sorted(set(map(str, kinds)) - set(KINDS) - {"any"})
        if bad:
            raise PluginError(f"lmverify: option fail_on {raw!r}: unknown kind(s) {', '.join(bad)}; expected "
                              f"{', '.join(KINDS)} or any (a list, or comma-separated)")
        self.fail_on = set(kinds)
        if opts.code_timeout is not None and not (0 < opts.code_timeout < float("inf")):
            raise PluginError(f"lmverify: option code_timeout {opts.code_timeout!r}: expected a finite number of CPU seconds > 0")
        if not opts.report_page == "" and not opts.report_page.endswith(".md"):
            raise PluginError(f"lmverify: option report_page {opts.report_page!r}: expected a page name ending in "
                              f".md (or '' for no report page)")
        root = Path(config.config_file_path).parent if config.config_file_path else Path.cwd()
        self.baseline = None
        if opts.baseline:
            path = root / opts.baseline
            if not path.is_file():
                raise PluginError(f"lmverify: option baseline {opts.baseline!r}: no such file {str(path)!r} (write "
                                  f"one with `lmverify report --course DIR --write-baseline FILE`)")
            try:
                self.baseline = read_baseline(path)
            except WorkedExampleError as exc:
                raise PluginError(f"lmverify: option baseline: {exc}") from None
        self.examples_dir = None
        if opts.examples_dir:
            self.examples_dir = root / opts.examples_dir
            if not self.examples_dir.is_dir():
                raise PluginError(f"lmverify: option examples_dir {opts.examples_dir!r}: no such folder "
                                  f"{str(self.examples_dir)!r} (expected <DIR>/<topic>/<name>.yaml)")
        if opts.mark and CSS_URI not in [str(x) for x in config.extra_css]:
            config.extra_css.append(CSS_URI)
        return config

    # -- which pages ----------------------------------------------------------------------------------------
    def _known_pages(self) -> set[str]:
        """The page names the suite knows (the catalogue's, the examples' built-in and the course's own, the
        unjudged records'), read once per state of the example files (not on every rebuild of serve)."""
        from lmverify.catalogue import load
        from lmverify.course.accounting import load_unjudged
        from lmverify.worked import EXAMPLES_DIR, load_all_examples

        stamp = (str(self.examples_dir), _examples_stamp(self.examples_dir), _examples_stamp(None))
        if getattr(self, "_known", (None,))[0] != stamp:
            builtin = load_all_examples()
            known = {ex.page for ex in builtin} | {eq["page"] for eq in load()}
            known |= set(load_unjudged(EXAMPLES_DIR))
            if self.examples_dir is not None:
                known |= {ex.page for ex in load_all_examples(self.examples_dir)} | set(load_unjudged(self.examples_dir))
            self._known = (stamp, known, builtin)
        return self._known[1]

    def _select(self, files: Files, docs_dir: Path) -> tuple[str, list[str] | None] | None:
        """(the course folder inside docs_dir, the page names selected or None for all), or None."""
        docs = [f.src_uri for f in files.documentation_pages() if f.src_uri.endswith(".md")]
        if self.config.pages:
            chosen = []
            for entry in self.config.pages:
                want = posixpath.normpath(entry.strip().strip("/"))
                hits = [u for u in docs if u == want] or [u for u in docs if posixpath.dirname(u) == want
                                                          or (want == "." and "/" not in u)]
                if not hits:
                    raise PluginError(f"lmverify: option pages: {entry!r} is neither a page nor a folder of pages "
                                      f"of docs_dir {str(docs_dir)!r}")
                chosen += hits
            folders = sorted({posixpath.dirname(u) for u in chosen})
            if len(folders) > 1:
                raise PluginError(f"lmverify: option pages: the pages must be in one folder (the course's), "
                                  f"got {', '.join(f or '.' for f in folders)}")
            return folders[0], sorted({posixpath.basename(u) for u in chosen})
        known = self._known_pages()
        found: dict[str, list[str]] = {}
        for u in docs:
            if posixpath.basename(u) in known:
                found.setdefault(posixpath.dirname(u), []).append(u)
        if not found:
            log.warning(f"lmverify: docs_dir {str(docs_dir)!r} holds none of the pages lm-math-verify knows "
                        f"({', '.join(sorted(known))}); nothing verified (name them with the option pages)")
            return None
        ranked = sorted(found.items(), key=lambda kv: -len(kv[1]))
        if len(ranked) > 1 and len(ranked[0][1]) == len(ranked[1][1]):
            raise PluginError(f"lmverify: the course pages are in several folders of docs_dir "
                              f"({', '.join(f or '.' for f, _ in ranked)}); choose one with the option pages")
        return ranked[0][0], None

    # -- verifying --------------------------------------------------------------------------------------------
    def on_files(self, files: Files, *, config) -> Files:
        docs_dir = Path(config.docs_dir)
        chosen = self._select(files, docs_dir)
        self.page_of, self.reports = {}, None
        if chosen is not None:
            folder, selected = chosen
            key = (str(docs_dir / folder), tuple(selected) if selected else None, str(self.examples_dir),
                   self.config.code, self.config.code_timeout, _examples_stamp(self.examples_dir))
            try:
                if self.verifier is None or self._key != key:
                    builtin = self._known[2] if getattr(self, "_known", None) and self._known[0][1] == key[-1] else None
                    self.verifier = Verifier(docs_dir / folder, selected, examples_dir=self.examples_dir,
                                             code=self.config.code, code_timeout=self.config.code_timeout,
                                             builtin=builtin)
                    self._key = key
                run = self.verifier.run()
            except (CourseError, WorkedExampleError) as exc:
                raise PluginError(f"lmverify: {exc}") from None
            self.last, self.reports = run, run.reports
            if run.full and self.verifier.left_out:
                log.info(f"lmverify: {len(self.verifier.left_out)} built-in example(s) not judged: their page is not "
                         f"in {folder or '.'} ({', '.join(sorted({ex.page for ex in self.verifier.left_out}))})")
            scope = self.verifier.scope()
            self.page_of = {posixpath.join(folder, p) if folder else p: p for p in scope}
            log.info(f"lmverify: verified {len(run.verified)} of {len(scope)} page(s) in {run.seconds:.2f} s"
                     + ("" if run.full else f" (changed: {', '.join(run.verified) or 'none'})"))
            self._log_findings(folder)
        if self.config.mark:
            files.append(File.generated(config, CSS_URI, abs_src_path=str(CSS)))
        if self.reports is not None and self.config.report_page:
            if files.get_file_from_path(self.config.report_page) is not None:
                raise PluginError(f"lmverify: option report_page {self.config.report_page!r}: docs_dir already has "
                                  f"that page; name another")
            from lmverify.course.render import markdown

            from mkdocs.structure.files import InclusionLevel

            # listed in the navigation by on_nav when the site has an explicit nav (so not "not in nav")
            files.append(File.generated(config, self.config.report_page, content=markdown(self.reports),
                                        inclusion=InclusionLevel.NOT_IN_NAV if config.nav else InclusionLevel.UNDEFINED))
        return files

    def _log_findings(self, folder: str) -> None:
        found = findings(self.reports)
        new, fixed = gate(self.reports, self.fail_on, self.baseline)
        not_in_baseline = gate(self.reports, {"any"}, self.baseline)[0] if self.baseline is not None else found
        self.accepted = [e for e in found if e not in not_in_baseline]
        for e in found:
            where = f"{posixpath.join(folder, e.page) if folder else e.page}:{e.line}"
            if e in new:
                log.warning(f"lmverify: {where}: {describe(e)}")
            else:
                why = "accepted in the baseline" if e in self.accepted else "not a fail_on kind"
                log.info(f"lmverify: {where}: {describe(e)} ({why})")
        for f in fixed:
            log.info(f"lmverify: fixed since the baseline: {f[0]} {f[2]} (was {f[3]})")
        for why in getattr(self.reports, "example_errors", None) or []:  # `lmverify report` exits 7 on these
            log.warning(f"lmverify: example not judged: {why}")

    def on_nav(self, nav, *, config, files):
        if self.reports is None or not self.config.report_page or config.nav is None:
            return nav  # without an explicit nav, MkDocs lists the generated page itself
        from mkdocs.structure.pages import Page

        file = files.get_file_from_path(self.config.report_page)
        if file is None or any(p.file is file for p in nav.pages):
            return nav
        page = Page("Verification report", file, config)
        if nav.pages:
            nav.pages[-1].next_page, page.previous_page = page, nav.pages[-1]
        nav.items.append(page)
        nav.pages.append(page)
        return nav

    # -- marking ----------------------------------------------------------------------------------------------
    def on_page_markdown(self, markdown: str, *, page, config, files) -> str:
        name = self.page_of.get(page.file.src_uri)
        if not self.config.mark or self.reports is None or name is None:
            return markdown
        model = self.reports.pages.page(name)
        if digest(markdown) != self.verifier.cache[name].digest:
            log.info(f"lmverify: {page.file.src_uri}: not marked: its Markdown was changed before lmverify saw it "
                     f"(another plugin or hook), so the verified line numbers do not hold")
            return markdown
        marks = page_marks(self.reports, name, self.accepted)
        out = place(markdown.replace("\r\n", "\n"), model, marks)
        return self._summary(out, model, name, marks, page, files)

    def _summary(self, source: str, model, name: str, marks, page, files) -> str:
        reps = [r for r in self.reports if r.example.page == name]
        page_findings = [e for e in findings(self.reports) if e.page == name]
        if not reps and not page_findings:
            return source
        checked = sum(len(rep.located.get(i) or ()) or 1 for rep in reps for i, r in enumerate(rep.results)
                      if r.verdict != MISSING)
        kinds = [e.kind for e in page_findings]
        parts = [f"{checked} numbers checked", f"{sum(k in ERRATA for k in kinds)} errata"]
        carried = sum(m.verdict == "carried" for m in marks)
        for n, word in ((carried, "carried rounding"), (kinds.count(MISSING), "claims not found"),
                        (kinds.count("equation"), "changed equations"),
                        (kinds.count("code") + kinds.count("timeout"), "failing code blocks")):
            if n:
                parts.append(f"{n} {word}")
        items = []
        for m in marks:
            where = f'<a href="#{m.ident}">line {m.line}</a>' if m.placed else f"line {m.line}"
            items.append(f"<li>{where}: {text(m.badge)} ({text(m.label)}){' (accepted)' if m.accepted else ''}</li>")
        for e in page_findings:
            if e.kind not in ERRATA:
                items.append(f"<li>line {e.line}: {text(describe(e))}</li>")
        link = ""
        if self.config.report_page:
            report = files.get_file_from_path(self.config.report_page)
            if report is not None:
                link = (f'<p><a href="{get_relative_url(report.url, page.file.url)}">Verification report</a> '
                        f"(every claim, equation and printed number of the course)</p>")
        box = (f'<div class="admonition lmverify lmv-summary" role="note" data-search-exclude>'
               f'<p class="admonition-title">lmverify: {text(", ".join(parts))}</p>'
               + (f"<ul>{''.join(items)}</ul>" if items else "") + link + "</div>")
        lines = source.split("\n")
        at = next((s.line for s in model.sections if s.level == 1), 0)
        lines[at:at] = ["", box, ""]
        return "\n".join(lines)
