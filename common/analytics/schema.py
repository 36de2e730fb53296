"""Schema: the tables of the `crm_analytics` dataset, declared as code.

Each table is a ``TableSpec`` with a version; the bootstrap creates what is
missing and applies additive changes, and the loader checks every row against
the same spec before it writes it, because the BigQuery emulator enforces
neither REQUIRED modes nor unknown fields (EMULATORS.md).

The three event tables hold one row per delivered event: the envelope's
members, typed columns named as the event data's fields, and the whole
envelope as JSON. Events carry no personal data beyond the keyed hashes of
e-mail and phone (common/customers/events.py), so neither do the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

DATASET: Final = "crm_analytics"
DATASET_DESCRIPTION: Final = (
    "CRM-AID analytics: append-only event and fact tables, and the views "
    "analysts read (PRODUCT.md, BigQuery)."
)
# Labels carry each table's and view's version, read back by the bootstrap.
VERSION_LABEL: Final = "schema_version"
MANAGED_LABEL: Final = "managed_by"
MANAGED_BY: Final = "crm-aid-bootstrap"

FieldType = Literal[
    "STRING", "INT64", "BOOL", "TIMESTAMP", "DATE", "JSON", "RECORD", "NUMERIC"
]
Mode = Literal["NULLABLE", "REQUIRED", "REPEATED"]


@dataclass(frozen=True)
class Column:
    """One column: its BigQuery type, mode and description."""

    name: str
    type: FieldType
    mode: Mode = "NULLABLE"
    description: str = ""
    fields: tuple[Column, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    """One table, partitioned by day on a time column, clustered for analysts."""

    name: str
    version: int
    description: str
    columns: tuple[Column, ...]
    partition_by: str
    cluster_by: tuple[str, ...]

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """The names of the columns, in order."""
        return tuple(column.name for column in self.columns)


def _required(name: str, type_: FieldType, description: str) -> Column:
    return Column(name, type_, "REQUIRED", description)


def _nullable(name: str, type_: FieldType, description: str) -> Column:
    return Column(name, type_, "NULLABLE", description)


def _repeated(name: str, type_: FieldType, description: str) -> Column:
    return Column(name, type_, "REPEATED", description)


# Every event table starts with these, in this order.
ENVELOPE_COLUMNS: Final[tuple[Column, ...]] = (
    _required("event_id", "STRING", "The event's id; the views keep one row per id."),
    _required(
        "event_type", "STRING", "domain.entity.past_tense, e.g. kyc.document.verified."
    ),
    _required(
        "occurred_at", "TIMESTAMP", "When the change happened; the partitioning column."
    ),
    _required("schema_version", "INT64", "Version of the event type's data schema."),
    _required(
        "subject", "STRING", "The envelope's subject: customer id or payment key."
    ),
    _nullable("customer_id", "STRING", "The customer the event concerns, when known."),
    _required("event", "JSON", "The whole envelope as published."),
    _required(
        "loaded_at", "TIMESTAMP", "When this row was written; duplicates differ here."
    ),
    _required("loaded_by", "STRING", "What wrote the row: loader or backfill."),
)

CUSTOMER_EVENTS = TableSpec(
    name="customer_events",
    version=1,
    description=(
        "Every customer.* event: profile created or updated, status changed. "
        "E-mail and phone only as keyed hashes; no names, no date of birth."
    ),
    columns=(
        *ENVELOPE_COLUMNS,
        _nullable("status", "STRING", "Customer status after the event."),
        _nullable("previous_status", "STRING", "Status before a status change."),
        _nullable("country", "STRING", "Country of residence, ISO 3166-1 alpha-2."),
        _nullable("address_country", "STRING", "Country of the postal address."),
        _nullable("terms_version", "STRING", "Version of the accepted terms."),
        _nullable("email_hash", "STRING", "HMAC-SHA256 of the e-mail address."),
        _nullable("phone_hash", "STRING", "HMAC-SHA256 of the E.164 phone number."),
        _repeated(
            "changed_fields", "STRING", "Profile fields a profile update changed."
        ),
        _nullable("reason", "STRING", "Reason code of a status change."),
        _nullable("decided_by", "STRING", "Who moved the status: kyc or staff."),
        _nullable("created_at", "TIMESTAMP", "When the profile was created."),
        _nullable("updated_at", "TIMESTAMP", "When the profile was last changed."),
        _nullable("changed_at", "TIMESTAMP", "When a status change took effect."),
    ),
    partition_by="occurred_at",
    cluster_by=("customer_id",),
)

PAYMENTS = TableSpec(
    name="payments",
    version=1,
    description=(
        "Every payment.* event, each with the payment's whole state after the "
        "change. Amounts in integer minor units of `currency`."
    ),
    columns=(
        *ENVELOPE_COLUMNS,
        _nullable("payment_key", "STRING", "provider:provider_reference."),
        _nullable("provider", "STRING", "stripe, adyen or a Standard Webhooks source."),
        _nullable("provider_reference", "STRING", "The provider's id of the payment."),
        _nullable("amount_minor", "INT64", "Amount in minor units of currency."),
        _nullable("currency", "STRING", "ISO 4217 code, upper case."),
        _nullable("status", "STRING", "Payment status after the event."),
        _nullable("refunded_minor", "INT64", "Refunded so far, in minor units."),
        _nullable("disputed", "BOOL", "Whether a dispute is open or was lost."),
        _nullable(
            "provider_event_id", "STRING", "The provider's id of the webhook event."
        ),
        _nullable(
            "provider_event_type", "STRING", "The provider's type of that event."
        ),
        _nullable("updated_at", "TIMESTAMP", "When the payment reached this state."),
    ),
    partition_by="occurred_at",
    cluster_by=("customer_id", "provider"),
)

KYC_CHECKS = TableSpec(
    name="kyc_checks",
    version=1,
    description=(
        "Every kyc.* event: a document announced, checked or decided. No "
        "document numbers, MRZ lines, names or dates of birth."
    ),
    columns=(
        *ENVELOPE_COLUMNS,
        _nullable("document_id", "STRING", "The document's id."),
        _nullable(
            "document_type",
            "STRING",
            "passport, national_id, driving_licence or proof_of_address.",
        ),
        _nullable("status", "STRING", "Document status after the event."),
        _repeated("reasons", "STRING", "Reason codes of a flag or rejection."),
        _nullable("decided_by", "STRING", "automatic or staff, once decided."),
        _nullable(
            "announced_at", "TIMESTAMP", "When the customer announced the document."
        ),
        _nullable("decided_at", "TIMESTAMP", "When the document was decided."),
    ),
    partition_by="occurred_at",
    cluster_by=("customer_id",),
)

SETTLEMENT_LINES = TableSpec(
    name="settlement_lines",
    version=1,
    description=(
        "One row per line of a provider settlement report (Stripe itemized "
        "payout reconciliation, Adyen settlement details), written by "
        "settlement_files. Amounts in integer minor units of `currency`, "
        "signed: money to the merchant is positive."
    ),
    columns=(
        _required(
            "line_id",
            "STRING",
            "Stable id of the line, e.g. stripe:<balance transaction id>; "
            "the views keep one row per id.",
        ),
        _required("provider", "STRING", "stripe or adyen."),
        _nullable(
            "payout_id", "STRING", "Stripe payout id or Adyen settlement batch number."
        ),
        _nullable(
            "provider_reference",
            "STRING",
            "The payment's provider reference, as in payments (Stripe "
            "payment intent, Adyen PSP reference).",
        ),
        _nullable(
            "payment_key", "STRING", "provider:provider_reference, as in payments."
        ),
        _nullable("customer_id", "STRING", "The customer, when the report names one."),
        _required(
            "category",
            "STRING",
            "charge, refund, dispute, dispute_reversal, fee, payout, "
            "adjustment or other.",
        ),
        _required(
            "gross_minor", "INT64", "Gross amount in minor units; refunds negative."
        ),
        _required("fee_minor", "INT64", "Provider fees in minor units."),
        _required("net_minor", "INT64", "gross_minor - fee_minor."),
        _required("currency", "STRING", "ISO 4217 code, upper case."),
        _required(
            "transaction_at",
            "TIMESTAMP",
            "When the provider booked the transaction; the partitioning column.",
        ),
        _nullable(
            "available_on",
            "DATE",
            "When the funds became available (Stripe) or were booked (Adyen).",
        ),
        _nullable(
            "payout_on", "DATE", "Date of the payout or batch that carried the line."
        ),
        _nullable(
            "source_object", "STRING", "Object name of the report in payment-files."
        ),
        _nullable("source_generation", "INT64", "Generation of that object."),
        _nullable("source_line", "INT64", "Line number in the report."),
        _required("recorded_at", "TIMESTAMP", "When the line was written."),
    ),
    partition_by="transaction_at",
    cluster_by=("customer_id", "provider"),
)

FIELD_ERROR_COLUMNS: Final[tuple[Column, ...]] = (
    _required("field", "STRING", "Dotted path of the field at fault."),
    _required("code", "STRING", "Stable code of the problem."),
    _required("message", "STRING", "What was expected; never the value found."),
)

DEAD_LETTERS = TableSpec(
    name="dead_letters",
    version=1,
    description=(
        "Messages the loader acknowledged without loading, because no retry "
        "could load them, with the reason. The payload is not copied here (it "
        "may hold anything); the outbox in Firestore keeps every event."
    ),
    columns=(
        _required("message_id", "STRING", "Pub/Sub message id; one row per message."),
        _nullable("topic", "STRING", "Topic the message was published on."),
        _nullable("subscription", "STRING", "Subscription that delivered it."),
        _nullable("event_id", "STRING", "The envelope's event id, when readable."),
        _nullable("event_type", "STRING", "The envelope's event type, when readable."),
        _nullable(
            "schema_version", "INT64", "The envelope's schema version, when readable."
        ),
        _nullable("subject", "STRING", "The envelope's subject, when readable."),
        _required(
            "code",
            "STRING",
            "Stable code: unknown_event_type, unknown_schema_version, "
            "invalid_event, ...",
        ),
        _required(
            "reason", "STRING", "What was expected and what was found, without values."
        ),
        Column(
            "field_errors",
            "RECORD",
            "REPEATED",
            "Each field at fault.",
            FIELD_ERROR_COLUMNS,
        ),
        _nullable("attributes", "JSON", "The message's attributes."),
        _required("data_size", "INT64", "Size of the message data in bytes."),
        _required("data_sha256", "STRING", "SHA-256 of the message data, hex."),
        _nullable("published_at", "TIMESTAMP", "When Pub/Sub accepted the message."),
        _required(
            "received_at",
            "TIMESTAMP",
            "When the loader rejected it; the partitioning column.",
        ),
    ),
    partition_by="received_at",
    cluster_by=("code", "event_type"),
)

TABLES: Final[tuple[TableSpec, ...]] = (
    CUSTOMER_EVENTS,
    PAYMENTS,
    KYC_CHECKS,
    SETTLEMENT_LINES,
    DEAD_LETTERS,
)
# The table that holds each event domain's events: the first part of the type.
EVENT_TABLES: Final[dict[str, TableSpec]] = {
    "customer": CUSTOMER_EVENTS,
    "payment": PAYMENTS,
    "kyc": KYC_CHECKS,
}


def table(name: str) -> TableSpec:
    """Return the declared table called ``name``."""
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise KeyError(name)
