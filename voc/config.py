"""Company-configurable vocabularies: the topic taxonomy, the journey stages and the complaint causes.

Each is a small YAML file validated by pydantic; ``load_taxonomy/load_journey/load_causes(None)`` read the
defaults shipped in ``voc/resources/``. Any problem (missing file, bad YAML, wrong field) raises
:class:`ConfigError` whose message names the file and the field path, e.g.
``taxonomy.yaml: topics[3].keywords: expected a list of strings``.

YAML is read by :func:`safe_load_yaml`: yaml's safe loader with a nesting cap (64), a cap on the nodes
that aliases expand to (a "billion laughs" file) and no recursive aliases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, SequenceNode

RESOURCES_DIR = Path(__file__).parent / "resources"
DEFAULT_TAXONOMY = RESOURCES_DIR / "taxonomy.yaml"
DEFAULT_JOURNEY = RESOURCES_DIR / "journey.yaml"
DEFAULT_CAUSES = RESOURCES_DIR / "causes.yaml"


#: YAML nesting deeper than this is refused (the composer is recursive).
MAX_YAML_DEPTH = 64
#: nodes a YAML document may expand to once aliases are followed
MAX_YAML_NODES = 1_000_000
#: config files past this size are refused
MAX_CONFIG_BYTES = 10 * 1024 * 1024


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the field path."""


class _LimitedLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]  # PyYAML ships no stubs
    """yaml.SafeLoader that refuses nesting deeper than ``max_depth`` while composing (before recursing)."""

    max_depth = MAX_YAML_DEPTH

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self._depth >= self.max_depth:
            raise ComposerError(None, None, f"nested deeper than {self.max_depth} levels",
                                self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes of the document with every alias expanded; ComposerError past ``limit`` or on a cycle."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ComposerError(None, None, "an alias refers to a node that contains it", node.start_mark)
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > limit:
            raise ComposerError(None, None, f"aliases expand the document past {limit} nodes", node.start_mark)
        sizes[key] = total
        return total

    return size(root)


def safe_load_yaml(text: str, *, max_depth: int = MAX_YAML_DEPTH, max_nodes: int = MAX_YAML_NODES) -> Any:
    """``yaml.safe_load`` with limits. Raises yaml.YAMLError (with ``problem_mark``) for bad or hostile
    YAML and ValueError for values yaml cannot build (a timestamp like 2024-13-45, a 5,000-digit int)."""
    loader = _LimitedLoader(text)
    loader.max_depth = max_depth
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, max_nodes)
        try:
            return loader.construct_document(node)
        except (TypeError, OverflowError, RecursionError) as exc:
            raise ValueError(str(exc)) from None
    finally:
        loader.dispose()


def read_yaml_file(path: str | Path, what: str = "YAML file") -> Any:
    """Parse a YAML config file with :func:`safe_load_yaml`; ConfigError naming the file and the line."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{file}: {what} of {size} bytes is over the {MAX_CONFIG_BYTES}-byte limit")
        return safe_load_yaml(file.read_text(encoding="utf-8"))
    except ConfigError:
        raise
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{file}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{file}: invalid YAML value: {exc}") from None


def normalize_name(value: str) -> str:
    """Case-, ё- and spacing-insensitive key for matching stage names and ticket categories."""
    text = value.strip().lower().replace("ё", "е")
    text = " ".join(text.split())
    return text.replace(" / ", "/").replace("/ ", "/").replace(" /", "/")


def _clean_phrases(values: list[str]) -> list[str]:
    out: list[str] = []
    for i, v in enumerate(values):
        if not v.strip():
            raise ValueError(f"item {i} is empty")
        out.append(" ".join(v.split()))
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Topic(_Strict):
    """One taxonomy topic: a name, what it covers, keyword phrases that signal it, example texts."""

    name: str = Field(min_length=1)
    description: str = ""
    keywords: list[str] = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)
    parent: str | None = None

    @field_validator("keywords")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        return _clean_phrases(value)


class Taxonomy(_Strict):
    """The topic taxonomy (``topics: [...]``)."""

    topics: list[Topic] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Taxonomy:
        names = _unique_names([t.name for t in self.topics], "topics")
        for i, t in enumerate(self.topics):
            if t.parent is not None and t.parent not in names:
                raise ValueError(f"topics[{i}].parent: {t.parent!r} is not a topic name")
        return self

    def names(self) -> list[str]:
        return [t.name for t in self.topics]


class Stage(_Strict):
    """One customer-journey stage with the touchpoints, ticket categories, words and example texts that point to it."""

    name: str = Field(min_length=1)
    description: str = ""
    touchpoints: list[str] = Field(default_factory=list)
    ticket_categories: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list, description="taxonomy topics that hint at this stage")
    examples: list[str] = Field(default_factory=list, description="short texts typical of the stage (zero-shot)")

    @field_validator("touchpoints", "keywords")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        return _clean_phrases(value)


class JourneyConfig(_Strict):
    """The journey stages of a company (``stages: [...]``)."""

    stages: list[Stage] = Field(min_length=1)
    default_stage: str | None = Field(
        None, description="stage predicted when the text has no cue (None: leave the stage empty)"
    )

    @model_validator(mode="after")
    def _check(self) -> JourneyConfig:
        names = _unique_names([s.name for s in self.stages], "stages")
        owner: dict[str, str] = {}
        for i, s in enumerate(self.stages):
            for j, cat in enumerate(s.ticket_categories):
                key = normalize_name(cat)
                if key in owner and owner[key] != s.name:
                    raise ValueError(
                        f"stages[{i}].ticket_categories[{j}]: {cat!r} is already mapped to stage {owner[key]!r}"
                    )
                owner[key] = s.name
        if self.default_stage is not None and self.default_stage not in names:
            raise ValueError(f"default_stage: {self.default_stage!r} is not a stage name")
        return self

    def stage_by_name(self) -> dict[str, str]:
        """Normalised stage name → configured stage name."""
        return {normalize_name(s.name): s.name for s in self.stages}

    def stage_by_ticket_category(self) -> dict[str, str]:
        """Normalised ticket category → stage name."""
        return {normalize_name(c): s.name for s in self.stages for c in s.ticket_categories}


class Cause(_Strict):
    """One complaint cause: a name, its definition, cue words and example complaints."""

    name: str = Field(min_length=1)
    description: str = ""
    keywords: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)

    @field_validator("keywords")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        return _clean_phrases(value)


class CauseConfig(_Strict):
    """The complaint causes (``causes: [...]``); ``fallback`` is the cause given when nothing fits."""

    causes: list[Cause] = Field(min_length=1)
    fallback: str = "другое"

    @model_validator(mode="after")
    def _check(self) -> CauseConfig:
        names = _unique_names([c.name for c in self.causes], "causes")
        if self.fallback not in names:
            raise ValueError(f"fallback: {self.fallback!r} is not a cause name")
        return self

    def names(self) -> list[str]:
        return [c.name for c in self.causes]


def _unique_names(names: list[str], field: str) -> set[str]:
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise ValueError(f"{field}[{i}].name: duplicate name {n!r}")
        seen.add(n)
    return seen


_M = TypeVar("_M", bound=BaseModel)
_MAX_REPORTED_ERRORS = 20


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def _load(path: str | Path | None, default: Path, model: type[_M]) -> _M:
    file = Path(path) if path is not None else default
    if not file.is_file():
        raise ConfigError(f"{file}: file not found (expected a {model.__name__} YAML file)")
    data = read_yaml_file(file, f"{model.__name__} YAML file")
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        errors = exc.errors()
        for err in errors[:_MAX_REPORTED_ERRORS]:
            msg = err["msg"].removeprefix("Value error, ")
            value = "" if err["type"] == "missing" else f" (got {str(err.get('input'))[:80]!r})"
            lines.append(f"{file}: {_loc(err['loc'])}: {msg}{value}")
        if len(errors) > _MAX_REPORTED_ERRORS:
            lines.append(f"{file}: … and {len(errors) - _MAX_REPORTED_ERRORS} more errors")
        raise ConfigError("\n".join(lines)) from None


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """The topic taxonomy from ``path``, or the shipped default (retail, e-commerce, banking, telecom)."""
    return _load(path, DEFAULT_TAXONOMY, Taxonomy)


def load_journey(path: str | Path | None = None) -> JourneyConfig:
    """The journey stages from ``path``, or the seven default stages."""
    return _load(path, DEFAULT_JOURNEY, JourneyConfig)


def load_causes(path: str | Path | None = None) -> CauseConfig:
    """The complaint causes from ``path``, or the seven default causes."""
    return _load(path, DEFAULT_CAUSES, CauseConfig)
