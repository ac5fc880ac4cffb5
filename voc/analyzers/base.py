"""The analyzer contract: one interface for every component of the pipeline.

An analyzer is built from config (constructor keyword arguments), takes a batch of Feedback records
with their Findings, and fills in its own fields of each Findings (labels + confidence + evidence).
It must vectorise over the batch; per-row Python loops only where unavoidable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from voc.schema import Feedback, Findings


class Analyzer(ABC):
    """Base class of every pipeline component (sentiment, emotions, topics, cause, journey stage, …)."""

    #: registry name, e.g. "sentiment"; set by @register
    name: ClassVar[str] = ""
    #: names of analyzers whose output this one reads (they must run earlier in the pipeline)
    requires: ClassVar[tuple[str, ...]] = ()

    @property
    def version(self) -> str:
        """Model/version string recorded in Findings.model_versions and the report."""
        return "rules-1"

    @abstractmethod
    def __call__(self, records: Sequence[Feedback], findings: Sequence[Findings]) -> None:
        """Fill this analyzer's fields of ``findings[i]`` for ``records[i]``, in place."""

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract  # pragma: no cover
        """Release resources (threads, sessions)."""
