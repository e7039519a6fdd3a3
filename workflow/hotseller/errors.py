"""The one error type for problems a user causes and can fix (their files, options or config), as opposed to bugs.

The command line prints such an error as one line and exits 2; anything else keeps its traceback, because it is a
bug to report. Each stage's own kind (IngestError, ModelFileError, ...) derives from it.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem with the user's files, options or config: one line, folded if a library's message had several."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(line.strip() for line in str(message).strip().splitlines()))
