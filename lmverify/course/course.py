"""One :class:`Course`: a folder of pages validated once, each page read and parsed once.

The report, the pytest page checks, ``claims``, ``coverage`` and authoring all take a ``Course``, so a page
has one model and "locate" one meaning everywhere.
"""

from __future__ import annotations

from pathlib import Path

from lmverify.course.model import Page, parse_page
from lmverify.pages import CourseError, course_pages, read_page


class Course:
    """The pages of a course folder. ``Course(folder)`` raises :class:`CourseError` (naming the folder)
    when it is missing or holds no pages; ``page(name)`` raises it when a page is missing, leaves the
    folder through a symbolic link, or is not UTF-8."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.pages: list[str] = course_pages(self.folder)
        self._text: dict[str, str] = {}
        self._model: dict[str, Page] = {}

    def __repr__(self) -> str:
        return f"Course({str(self.folder)!r})"

    def text(self, name: str) -> str:
        if name not in self._text:
            path = self.folder / name
            if path.is_symlink() or (path.exists() and not _inside(path, self.folder)):
                target = path.resolve()
                if not _inside(target, self.folder):
                    raise CourseError(f"{path}: page {name!r} is a link to {str(target)!r}, outside the course "
                                      f"folder {str(self.folder)!r}; pages must be files of the folder")
            self._text[name] = read_page(self.folder, name)
        return self._text[name]

    def page(self, name: str) -> Page:
        """The page's model, parsed on first use."""
        if name not in self._model:
            self._model[name] = parse_page(self.text(name), name)
        return self._model[name]

    def lines(self, name: str) -> list[str]:
        return self.page(name).lines


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


#: folders never searched for course pages (build output, environments, version control)
_SKIP = {"site", "node_modules", "venv", ".venv", "__pycache__", "build", "dist"}


def _mkdocs_config(folder: Path) -> Path | None:
    for name in ("mkdocs.yml", "mkdocs.yaml"):
        if (folder / name).is_file():
            return folder / name
    return None


def _docs_dir(config: Path) -> Path:
    """``docs_dir`` of an MkDocs config (default ``docs``), relative to the config's folder. The config is read
    with a safe loader that accepts MkDocs' ``!!python/name:`` and ``!ENV`` tags as plain values."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    try:
        data = yaml.load(config.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CourseError(f"{config}: cannot read the MkDocs config to find its docs_dir: {exc}") from None
    docs = data.get("docs_dir", "docs") if isinstance(data, dict) else "docs"
    if not isinstance(docs, str) or not docs.strip():
        raise CourseError(f"{config}: key 'docs_dir' must be a folder name, got {docs!r}")
    return config.parent / docs


def _markdown_folders(root: Path, depth: int = 4) -> list[Path]:
    """Folders under ``root`` (itself included) that hold Markdown pages, nearest first."""
    out, level = [], [root]
    for _ in range(depth + 1):
        nxt = []
        for d in level:
            try:
                children = sorted(d.iterdir())
            except OSError:
                continue
            if any(c.suffix == ".md" and c.is_file() for c in children):
                out.append(d)
            nxt += [c for c in children if c.is_dir() and not c.is_symlink() and not c.name.startswith(".")
                    and c.name not in _SKIP]
        level = nxt
    return out


def find_course(path: str | Path, known: "set[str] | frozenset[str]" = frozenset()) -> tuple[Path, str]:
    """The folder of the course pages that ``--course PATH`` means, and how it was found (a sentence, empty
    when PATH itself is that folder).

    PATH may be the pages' folder itself, a course repository's root or its ``mkdocs.yml`` (the search starts
    at the config's ``docs_dir``), or a folder above the pages (``docs`` when the pages are in
    ``docs/01_foundations/``). ``known``: page names the verification looks for (the catalogue's and the
    examples' pages). The folder chosen is PATH (or ``docs_dir``) when it holds one of the known pages,
    else the subfolder holding the most known pages (a tie is a :class:`CourseError` naming them), else
    PATH when it holds Markdown pages (the verification then names the pages it lacks). None found is a
    :class:`CourseError` naming the folders with Markdown pages under PATH, as a hint."""
    given = Path(path)
    if given.is_file() and given.name in ("mkdocs.yml", "mkdocs.yaml"):
        config = given
    elif given.is_dir():
        config = _mkdocs_config(given)
    else:
        raise CourseError(f"--course {str(given)!r}: no such folder (expected the folder of the course pages, "
                          f"a course repository's root or its mkdocs.yml, e.g. ../shared/course)")
    start = _docs_dir(config) if config is not None else given
    if not start.is_dir():
        raise CourseError(f"--course {str(given)!r}: {config} names docs_dir {str(start)!r}, which is not a folder")
    via = f" (docs_dir of {config})" if config is not None else ""
    folders = _markdown_folders(start)
    if known:
        scored = [(len(known & {p.name for p in d.glob("*.md")}), d) for d in folders]
        if scored and start in folders and scored[folders.index(start)][0] > 0:
            return start, (f"course pages in {start}{via}" if config is not None else "")
        best = max((s for s, _ in scored), default=0)
        if best > 0:
            top = [d for s, d in scored if s == best]
            if len(top) > 1:
                raise CourseError(f"--course {str(given)!r}: the course pages are in more than one folder "
                                  f"({', '.join(map(str, top))}); give one of them as --course")
            return top[0], f"course pages in {top[0]} (found under --course {str(given)}{via})"
    if start in folders:  # Markdown pages, none known: the folder as given (the report names what it lacks)
        return start, (f"course pages in {start}{via}" if config is not None else "")
    if folders:
        hint = ", ".join(map(str, folders[:8])) + (f" and {len(folders) - 8} more" if len(folders) > 8 else "")
        raise CourseError(f"--course {str(given)!r}: no course pages found{via}; folders with Markdown pages "
                          f"under it: {hint} (none holds a page of the course: "
                          f"{', '.join(sorted(known)) or 'any *.md'}); give the pages' folder as --course")
    raise CourseError(f"--course {str(given)!r}: the folder holds no course pages (*.md), nor does any folder "
                      f"under it{via}")


def as_course(course) -> Course | None:
    """A Course from a folder path (or the Course itself; None stays None)."""
    if course is None or isinstance(course, Course):
        return course
    return Course(course)
