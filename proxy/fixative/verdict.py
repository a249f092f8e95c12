"""Verdicts and their reasons: what the classifier says about one request."""

from __future__ import annotations

from dataclasses import dataclass, field

HUMAN = "human"
SUSPECT = "suspect"
SCRAPER = "scraper"
VERDICTS = (HUMAN, SUSPECT, SCRAPER)


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that fired: `pack/rule: text`, with its weight or decisive action."""

    pack: str
    rule: str
    text: str
    weight: int = 0
    action: str | None = None

    @property
    def name(self) -> str:
        return f"{self.pack}/{self.rule}"

    def __str__(self) -> str:
        effect = self.action or f"{self.weight:+d}"
        return f"{self.name}: {self.text} [{effect}]"

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.name, "text": self.text, "weight": self.weight, "action": self.action}


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one request, the summed weight, and every reason that fired."""

    verdict: str
    score: int
    reasons: tuple[Reason, ...]
    decided_by: Reason | None = None
    texts: tuple[str, ...] = field(init=False, repr=False, compare=False)  # str() of each reason

    def __post_init__(self) -> None:
        # the event log writes these for every request; a Decision is reused (Classifier's cache)
        object.__setattr__(self, "texts", tuple(str(r) for r in self.reasons))

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "score": self.score,
            "decided_by": self.decided_by.name if self.decided_by else None,
            "reasons": [r.as_dict() for r in self.reasons],
        }
