"""What a gateway says about a message it refuses: where, which rule, what it found."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a message is invalid. `path` is a field tag (":32A:") or an XML path."""

    path: str
    rule: str
    found: str

    def line(self) -> str:
        return f"{self.path}: {self.rule}: {self.found}"


class MessageError(ValueError):
    """A message that cannot be accepted; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.line() for p in problems) or "invalid message")
        self.problems = problems
