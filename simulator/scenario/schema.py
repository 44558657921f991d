"""The format-1 schema as pydantic models: types, required keys and allowed keys.

These models check the form of each value; the rules that relate one part of a file to
another (names that must be declared, placeholders, Markdown) live in ``checks``. Every
model is strict: YAML values keep their implicit types and nothing is coerced.
"""

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

SLUG_PATTERN = r"^[a-z0-9]+([-_][a-z0-9]+)*$"
SCENARIO_ID_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
URL_PATTERN = r"^(https://|http://|mailto:)"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
NODE_KINDS = ("choices", "next", "end")
TEXT_MAX = 20_000
# Revision 2 of format 1 adds `order` and `critical`, and refuses Markdown images and text
# over TEXT_MAX characters; a version stored under revision 1 is read by revision 1's rules.
REVISION = 2


def revision_of(info: ValidationInfo | None) -> int:
    """Return the revision a file is being checked under (the current one by default)."""
    context = info.context if info is not None else None
    return (context or {}).get("revision", REVISION)


def _not_blank(value: str, info: ValidationInfo) -> str:
    """Refuse empty text and, from revision 2, text over the length limit."""
    if not value.strip():
        raise PydanticCustomError("empty_text", "text must not be empty")
    if len(value) > TEXT_MAX and revision_of(info) >= 2:
        raise PydanticCustomError(
            "text_too_long",
            "this text is {length} characters long; the limit is {limit} characters: "
            "shorten it, or split it over more nodes",
            {"length": f"{len(value):,}", "limit": f"{TEXT_MAX:,}"},
        )
    return value


def _not_empty(value):
    """Refuse an empty list or mapping: the key should be left out instead."""
    if not value:
        raise PydanticCustomError("empty_collection", "must not be empty: leave the key out")
    return value


def _unique_items(items: list) -> list:
    """Refuse a list that repeats an item."""
    _not_empty(items)
    seen = set()
    for index, item in enumerate(items):
        if item in seen:
            raise PydanticCustomError(
                "repeated_item", "'{item}' is listed twice", {"item": item, "index": index}
            )
        seen.add(item)
    return items


def _image_path(value: str) -> str:
    """Refuse a value that cannot be a node-relative image path."""
    if value.startswith("/") or "\\" in value or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value):
        raise PydanticCustomError(
            "image_path", "must be a path relative to the scenario's folder, with / separators"
        )
    if ".." in value.split("/"):
        raise PydanticCustomError("image_path", "must not use '..' to leave the scenario's folder")
    if not value.lower().endswith(IMAGE_SUFFIXES):
        raise PydanticCustomError(
            "image_path", "must name a .png, .jpg, .jpeg, .gif or .webp file"
        )
    return value


def _format_one(value: int) -> int:
    """Refuse any format version but 1."""
    if value != 1:
        raise PydanticCustomError("format_version", "this is format 1: 'format' must be 1")
    return value


Text = Annotated[str, AfterValidator(_not_blank), Field(json_schema_extra={"maxLength": TEXT_MAX})]
Markdown = Text
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
ScenarioId = Annotated[str, StringConstraints(pattern=SCENARIO_ID_PATTERN, max_length=64)]
Url = Annotated[str, StringConstraints(pattern=URL_PATTERN)]
ImagePath = Annotated[str, AfterValidator(_not_blank), AfterValidator(_image_path)]
PositiveInt = Annotated[int, Field(gt=0)]
Percent = Annotated[int, Field(ge=0, le=100)]


def SlugList():  # noqa: N802 - reads as a type in the models below
    """Return the type of a non-empty list of distinct slugs."""
    return Annotated[list[Slug], AfterValidator(_unique_items)]


def NonEmptyMap(key, value):  # noqa: N802
    """Return the type of a non-empty mapping."""
    return Annotated[dict[key, value], AfterValidator(_not_empty)]


class Strict(BaseModel):
    """A mapping with exactly the keys declared: unknown keys are errors, nothing coerced.

    Optional keys default to None without allowing it: defaults are not validated, so a
    key left out is None while a key written with an empty (null) value is an error.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Reference(Strict):
    """A piece of guidance that feedback cites."""

    title: Text
    source: Text = None
    url: Url = None
    detail: Markdown = None


class Image(Strict):
    """A picture and its alternative text."""

    src: ImagePath
    alt: Text


class Condition(Strict):
    """When a choice is offered."""

    all_: SlugList() = Field(None, alias="all")
    any_: SlugList() = Field(None, alias="any")
    none: SlugList() = None

    @model_validator(mode="after")
    def _has_a_part(self):
        """Refuse a condition with none of its parts."""
        if self.all_ is None and self.any_ is None and self.none is None:
            raise PydanticCustomError(
                "empty_condition", "'when' needs at least one of 'all', 'any' or 'none'"
            )
        return self


class Choice(Strict):
    """An option at a decision."""

    id: Slug
    text: Text
    next: Slug
    when: Condition = None
    set_: SlugList() = Field(None, alias="set")
    clear: SlugList() = None
    score: NonEmptyMap(Slug, int) = None
    sharing: Literal["appropriate", "inappropriate"] = None
    critical: bool = None
    feedback: Markdown = None
    refs: SlugList() = None


class Ending(Strict):
    """An ending's outcome label and debrief."""

    outcome: Text
    debrief: Markdown


Rationale = Literal["none", "optional", "required"]
NdmStage = Literal["information", "threat-risk", "powers-policy", "options", "action-review"]


class Decision(Strict):
    """A node that offers choices."""

    text: Markdown
    speaker: Text = None
    image: Image = None
    rationale: Rationale = "none"
    ndm: NdmStage = None
    order: Literal["shuffled", "fixed"] = "shuffled"
    choices: Annotated[list[Choice], AfterValidator(_not_empty)]


class Step(Strict):
    """A node whose only way on is Continue."""

    text: Markdown
    speaker: Text = None
    image: Image = None
    next: Slug


class EndingNode(Strict):
    """A node that ends play."""

    text: Markdown = None
    speaker: Text = None
    image: Image = None
    end: Ending


def node_kind(value) -> str | None:
    """Return a node's kind from which one of ``choices``, ``next`` and ``end`` it has."""
    if not isinstance(value, dict):
        return None
    present = [key for key in NODE_KINDS if key in value]
    if len(present) != 1:
        return None
    return {"choices": "decision", "next": "step", "end": "ending"}[present[0]]


Node = Annotated[
    Annotated[Decision, Tag("decision")]
    | Annotated[Step, Tag("step")]
    | Annotated[EndingNode, Tag("ending")],
    Discriminator(
        node_kind,
        custom_error_type="bad_node",
        custom_error_message="a node needs exactly one of 'choices', 'next' or 'end'",
    ),
]
NODE_TAGS = ("decision", "step", "ending")


class ScenarioFile(Strict):
    """A whole scenario file, format 1."""

    format: Annotated[int, AfterValidator(_format_one)]
    id: ScenarioId
    title: Text
    summary: Text
    version: PositiveInt
    minutes: PositiveInt = None
    audience: Annotated[list[Literal["recruit", "cpd"]], AfterValidator(_unique_items)] = None
    objectives: Annotated[list[Text], AfterValidator(_unique_items)] = None
    dimensions: NonEmptyMap(Slug, Text) = None
    pass_marks: NonEmptyMap(Slug, Percent) = None
    references: NonEmptyMap(Slug, Reference) = None
    cast: Annotated[list[NonEmptyMap(Slug, Text)], AfterValidator(_not_empty)] = None
    flags: SlugList() = None
    start: Slug
    nodes: NonEmptyMap(Slug, Node)


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """Return the keys a mapping of ``model`` may have."""
    return [field.alias or name for name, field in model.model_fields.items()]


def json_schema() -> dict:
    """Return a JSON Schema of the format, for editors with the YAML language server."""
    schema = ScenarioFile.model_json_schema(by_alias=True)
    schema["properties"]["format"] = {"const": 1, "description": "format version"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Safe to Report scenario, format 1"
    return schema
