"""The declarative definitions of every function and the triggers wiring them."""

from triggers.catalog import (
    DEFAULT_DEFINITIONS,
    Catalog,
    FunctionDefinition,
    HttpTrigger,
    PubSubTrigger,
    StorageTrigger,
    TriggerDefinitionError,
    load_catalog,
    parse_catalog,
)

__all__ = [
    "DEFAULT_DEFINITIONS",
    "Catalog",
    "FunctionDefinition",
    "HttpTrigger",
    "PubSubTrigger",
    "StorageTrigger",
    "TriggerDefinitionError",
    "load_catalog",
    "parse_catalog",
]
