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


def as_course(course) -> Course | None:
    """A Course from a folder path (or the Course itself; None stays None)."""
    if course is None or isinstance(course, Course):
        return course
    return Course(course)
