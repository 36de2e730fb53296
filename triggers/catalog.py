"""The catalogue of functions, topics and buckets, validated as it is loaded."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEFINITIONS = Path(__file__).resolve().parent / "functions.toml"

FINALIZED: Final = "google.cloud.storage.object.v1.finalized"
StorageEventType = Literal[
    "google.cloud.storage.object.v1.finalized",
    "google.cloud.storage.object.v1.deleted",
    "google.cloud.storage.object.v1.archived",
    "google.cloud.storage.object.v1.metadataUpdated",
]
# Set by Cloud Run itself; a definition may not override them.
RESERVED_ENV = frozenset(
    {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION", "FUNCTION_TARGET"}
)

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,62}$")]
ResourceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{2,62}$")]
Environment = dict[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")], str]


class TriggerDefinitionError(Exception):
    """A definition in the catalogue is invalid; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpTrigger(_Strict):
    """An HTTPS endpoint that owns every path under `path_prefix`.

    `paths` are further paths it answers exactly, such as a document beside
    the API (`/v1/openapi.json`).
    """

    kind: Literal["http"]
    path_prefix: Annotated[str, Field(pattern=r"^/v1(/[a-z0-9-]+)+$")]
    paths: tuple[Annotated[str, Field(pattern=r"^/v1(/[a-z0-9.-]+)+$")], ...] = ()

    @property
    def routes(self) -> tuple[str, ...]:
        """Every prefix and path this trigger owns."""
        return (self.path_prefix, *self.paths)


class PubSubTrigger(_Strict):
    """A push subscription on one topic, delivered as messagePublished."""

    kind: Literal["pubsub"]
    topic: ResourceName


class StorageTrigger(_Strict):
    """Object events of one bucket, optionally below one object prefix."""

    kind: Literal["storage"]
    bucket: ResourceName
    event_type: StorageEventType = FINALIZED
    object_prefix: str | None = Field(default=None, min_length=1)

    def matches(self, bucket_short: str, object_name: str) -> bool:
        """Tell whether an object event in this bucket is for this trigger."""
        if bucket_short != self.bucket:
            return False
        return self.object_prefix is None or object_name.startswith(self.object_prefix)


Trigger = Annotated[
    HttpTrigger | PubSubTrigger | StorageTrigger, Field(discriminator="kind")
]


class FunctionDefinition(_Strict):
    """One deployable function: code, trigger, resources and permissions."""

    name: Name
    source: str
    entry_point: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    trigger: Trigger
    memory: Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")] = "256Mi"
    timeout_s: Annotated[int, Field(ge=1, le=3600)] = 60
    max_instances: Annotated[int, Field(ge=1, le=1000)] = 10
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 1
    retry: bool = True
    max_delivery_attempts: Annotated[int, Field(ge=5, le=100)] = 5
    min_backoff_s: Annotated[float, Field(ge=0, le=600)] = 10
    max_backoff_s: Annotated[float, Field(ge=0, le=600)] = 600
    dead_letter: bool = True
    roles: tuple[Annotated[str, Field(pattern=r"^roles/[A-Za-z.]+$")], ...] = ()
    secrets: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")], ...] = ()
    env: Environment = {}

    @model_validator(mode="after")
    def _check_consistency(self) -> FunctionDefinition:
        if not (ROOT / self.source).is_file():
            raise ValueError(f"source: no file at {self.source}")
        if self.min_backoff_s > self.max_backoff_s:
            raise ValueError("min_backoff_s: larger than max_backoff_s")
        if self.trigger.kind != "http" and self.timeout_s > 540:
            raise ValueError("timeout_s: event functions allow at most 540")
        _check_env(self.env)
        return self

    @property
    def signature_type(self) -> str:
        """The functions-framework signature type that serves this function."""
        return "http" if self.trigger.kind == "http" else "cloudevent"

    @property
    def service_name(self) -> str:
        """The Cloud Run service name (`K_SERVICE`): dashes, not underscores."""
        return self.name.replace("_", "-")


class Catalog(_Strict):
    """Every function of the product with the topics and buckets they use."""

    topics: tuple[ResourceName, ...]
    buckets: tuple[ResourceName, ...]
    dead_letter_topic: ResourceName
    functions: tuple[FunctionDefinition, ...]
    # The environment every function gets; a function's own `env` wins.
    env: Environment = {}

    @model_validator(mode="after")
    def _check_env(self) -> Catalog:
        _check_env(self.env)
        return self

    def with_shared_env(self) -> Catalog:
        """Return the catalogue with `env` merged into every function's."""
        functions = tuple(
            function.model_copy(update={"env": self.env | function.env})
            for function in self.functions
        )
        return self.model_copy(update={"functions": functions})

    def function(self, name: str) -> FunctionDefinition:
        """Return the function called `name`."""
        for definition in self.functions:
            if definition.name == name:
                return definition
        raise KeyError(name)

    def http_routes(self) -> dict[str, FunctionDefinition]:
        """Map each HTTP path prefix and path to the function that owns it."""
        return {
            route: f
            for f in self.functions
            if isinstance(f.trigger, HttpTrigger)
            for route in f.trigger.routes
        }


def load_catalog(paths: Sequence[Path] = (DEFAULT_DEFINITIONS,)) -> Catalog:
    """Load and validate the catalogue from one or more TOML files.

    The first file is the product's; later files (test functions) may add
    topics, buckets and functions but redefine nothing.

    Raises:
        TriggerDefinitionError: a file is unreadable or a definition invalid.
    """
    documents = [_read_toml(path) for path in paths]
    return parse_catalog(documents)


def parse_catalog(documents: Sequence[dict[str, Any]]) -> Catalog:
    """Validate already parsed documents as one catalogue."""
    merged = _merge(documents)
    try:
        catalog = Catalog.model_validate(merged)
    except ValidationError as exc:
        raise TriggerDefinitionError(_describe(exc, merged)) from exc

    _check_references(catalog)
    return catalog.with_shared_env()


def _check_env(env: Environment) -> None:
    reserved = RESERVED_ENV.intersection(env)
    if reserved:
        raise ValueError(f"env: reserved variable {sorted(reserved)[0]}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TriggerDefinitionError(f"{path}: cannot be read: {exc}") from exc


def _merge(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    base = documents[0] if documents else {}
    merged: dict[str, Any] = {
        "topics": list(base.get("topics", [])),
        "buckets": list(base.get("buckets", [])),
        "dead_letter_topic": base.get("dead_letter_topic"),
        "functions": [],
        "env": base.get("env", {}),
    }
    seen: set[str] = set()
    for document in documents:
        if document is not base:
            merged["topics"] += _new(document.get("topics", []), merged["topics"])
            merged["buckets"] += _new(document.get("buckets", []), merged["buckets"])
        for name, body in document.get("functions", {}).items():
            if name in seen:
                raise TriggerDefinitionError(f"function '{name}': defined twice")
            seen.add(name)
            merged["functions"].append({"name": name, **body})
    return merged


def _new(values: Iterable[str], existing: list[str]) -> list[str]:
    return [value for value in values if value not in existing]


def _describe(exc: ValidationError, merged: dict[str, Any]) -> str:
    lines = []
    for error in exc.errors():
        location = list(error["loc"])
        subject = "catalogue"
        if len(location) >= 2 and location[0] == "functions":
            index = location[1]
            subject = f"function '{merged['functions'][int(index)]['name']}'"
            location = location[2:]
        field = ".".join(str(part) for part in location if part not in _UNION_TAGS)
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{subject}: field '{field or 'definition'}': {message}")
    return "; ".join(lines)


_UNION_TAGS = {"http", "pubsub", "storage"}


def _check_references(catalog: Catalog) -> None:
    if catalog.dead_letter_topic not in catalog.topics:
        raise TriggerDefinitionError(
            "catalogue: field 'dead_letter_topic': "
            f"unknown topic '{catalog.dead_letter_topic}'"
        )
    owners: dict[str, str] = {}
    for function in catalog.functions:
        _check_trigger(catalog, function)
        if isinstance(function.trigger, HttpTrigger):
            _claim_routes(function, function.trigger, owners)


def _claim_routes(
    function: FunctionDefinition, trigger: HttpTrigger, owners: dict[str, str]
) -> None:
    for field, route in [("path_prefix", trigger.path_prefix)] + [
        ("paths", path) for path in trigger.paths
    ]:
        if route in owners:
            raise TriggerDefinitionError(
                f"function '{function.name}': field 'trigger.{field}': "
                f"{route} is already served by function '{owners[route]}'"
            )
        owners[route] = function.name


def _check_trigger(catalog: Catalog, function: FunctionDefinition) -> None:
    trigger = function.trigger
    if isinstance(trigger, PubSubTrigger) and trigger.topic not in catalog.topics:
        raise TriggerDefinitionError(
            f"function '{function.name}': field 'trigger.topic': "
            f"unknown topic '{trigger.topic}'"
        )
    if isinstance(trigger, StorageTrigger) and trigger.bucket not in catalog.buckets:
        raise TriggerDefinitionError(
            f"function '{function.name}': field 'trigger.bucket': "
            f"unknown bucket '{trigger.bucket}'"
        )
