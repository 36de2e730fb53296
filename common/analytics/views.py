"""Views: what analysts read, each deduplicating the tables it reads.

The tables are append-only and may hold an event twice: Pub/Sub delivers at
least once, a retry after a crash writes again, and BigQuery dedupes insert
ids only best-effort (its emulator not at all). So every view first keeps one
row per ``event_id`` (settlement lines: per ``line_id``), then folds events
into state by the time the state was reached, never by arrival, so that
out-of-order delivery gives the same answer.

The SQL is GoogleSQL as BigQuery runs it; the emulator translates it. Amounts
stay integer minor units and are summed per currency, never across.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from common.payments.events import STATUS_EVENT_TYPES

# Keeps the first row written of each event; its duplicates are identical
# but for loaded_at and loaded_by.
_UNIQUE_EVENTS = """
  SELECT * EXCEPT (event)
  FROM `{dataset}.{table}`
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY loaded_at) = 1
"""
# A settlement report ingested twice writes its lines twice.
_UNIQUE_SETTLEMENT_LINES = """
  SELECT *
  FROM `{dataset}.settlement_lines`
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY line_id ORDER BY recorded_at) = 1
"""
_DOCUMENT_STATUS_RANK = """CASE status
      WHEN 'awaiting_upload' THEN 0
      WHEN 'processing' THEN 1
      WHEN 'needs_review' THEN 2
      ELSE 3
    END"""
PAYMENT_STATUSES: Final = tuple(STATUS_EVENT_TYPES)


def _status_totals() -> str:
    lines = []
    for status in PAYMENT_STATUSES:
        lines.append(f"    COUNTIF(status = '{status}') AS {status}_count,")
        lines.append(
            f"    SUM(IF(status = '{status}', amount_minor, 0))"
            f" AS {status}_amount_minor,"
        )
    return "\n".join(lines)


def _status_columns() -> str:
    return "\n".join(
        f"  totals.{status}_count, totals.{status}_amount_minor,"
        for status in PAYMENT_STATUSES
    )


# Fragments that several views share, written {name} in their SQL; the
# unique rows of a table are {unique:table}.
_FRAGMENTS: Final = {
    "{unique_settlement_lines}": _UNIQUE_SETTLEMENT_LINES,
    "{document_status_rank}": _DOCUMENT_STATUS_RANK,
    "{status_totals}": _status_totals(),
    "{status_columns}": _status_columns(),
}


@dataclass(frozen=True)
class ViewSpec:
    """One view: its SQL with ``{dataset}`` for `project.dataset`, versioned."""

    name: str
    version: int
    description: str
    sql: str

    def render(self, project: str, dataset: str) -> str:
        """Return the view's query with its tables fully qualified."""
        sql = self.sql
        for marker, fragment in _FRAGMENTS.items():
            sql = sql.replace(marker, fragment)
        for table in ("customer_events", "payments", "kyc_checks"):
            unique = _UNIQUE_EVENTS.replace("{table}", table)
            sql = sql.replace(f"{{unique:{table}}}", unique)
        return sql.replace("{dataset}", f"{project}.{dataset}").strip()


PAYMENTS_CURRENT = ViewSpec(
    name="payments_current",
    version=1,
    description=(
        "The latest state of each payment (by the time the provider reached "
        "it), one row per payment_key."
    ),
    sql="""
WITH events AS ({unique:payments})
SELECT
  payment_key, provider, provider_reference, customer_id, amount_minor,
  currency, status, refunded_minor, disputed, updated_at,
  event_id AS last_event_id
FROM events
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (
  PARTITION BY payment_key
  ORDER BY updated_at DESC, occurred_at DESC, event_id DESC
) = 1
""",
)

KYC_CURRENT = ViewSpec(
    name="kyc_current",
    version=1,
    description=(
        "The KYC state of each customer with documents: kyc_status is the "
        "furthest status of any document (verified, needs_review, processing, "
        "awaiting_upload, then rejected)."
    ),
    sql="""
WITH events AS ({unique:kyc_checks}),
documents AS (
  SELECT customer_id, document_id, status, decided_at
  FROM events
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY document_id
    ORDER BY COALESCE(decided_at, announced_at) DESC, {document_status_rank} DESC,
      occurred_at DESC, event_id DESC
  ) = 1
)
SELECT
  customer_id,
  CASE
    WHEN COUNTIF(status = 'verified') > 0 THEN 'verified'
    WHEN COUNTIF(status = 'needs_review') > 0 THEN 'needs_review'
    WHEN COUNTIF(status = 'processing') > 0 THEN 'processing'
    WHEN COUNTIF(status = 'awaiting_upload') > 0 THEN 'awaiting_upload'
    ELSE 'rejected'
  END AS kyc_status,
  COUNT(*) AS documents,
  COUNTIF(status = 'verified') AS verified_documents,
  MIN(IF(status = 'verified', decided_at, NULL)) AS verified_at
FROM documents
GROUP BY customer_id
""",
)

CUSTOMERS_CURRENT = ViewSpec(
    name="customers_current",
    version=1,
    description=(
        "The latest state of each customer: status from the latest event by "
        "the time it took effect, profile fields from the latest profile event."
    ),
    sql="""
WITH events AS ({unique:customer_events}),
profiles AS (
  SELECT
    customer_id, country, address_country, terms_version, email_hash,
    phone_hash, created_at, updated_at
  FROM events
  WHERE event_type IN ('customer.profile.created', 'customer.profile.updated')
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY customer_id
    ORDER BY updated_at DESC, occurred_at DESC, event_id DESC
  ) = 1
),
statuses AS (
  SELECT customer_id, status, COALESCE(changed_at, updated_at) AS status_at
  FROM events
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY customer_id
    ORDER BY COALESCE(changed_at, updated_at) DESC, occurred_at DESC,
      event_id DESC
  ) = 1
),
activity AS (
  SELECT customer_id, COUNT(*) AS events, MAX(occurred_at) AS last_event_at
  FROM events
  GROUP BY customer_id
)
SELECT
  statuses.customer_id,
  statuses.status,
  statuses.status_at AS status_changed_at,
  profiles.country,
  profiles.address_country,
  profiles.terms_version,
  profiles.email_hash,
  profiles.phone_hash,
  profiles.created_at,
  profiles.updated_at,
  activity.events,
  activity.last_event_at
FROM statuses
JOIN activity ON activity.customer_id = statuses.customer_id
LEFT JOIN profiles ON profiles.customer_id = statuses.customer_id
""",
)


CUSTOMER_360 = ViewSpec(
    name="customer_360",
    version=1,
    description=(
        "One row per customer and currency: the profile analysts may see, KYC "
        "state, payment counts and sums by status, the last payment, and "
        "settled totals. A customer with no money in any currency has one row "
        "with a NULL currency."
    ),
    sql="""
WITH payments AS (
  SELECT * FROM `{dataset}.payments_current` WHERE customer_id IS NOT NULL
),
totals AS (
  SELECT
    customer_id,
    currency,
    COUNT(*) AS payments,
{status_totals}
    SUM(refunded_minor) AS refunded_minor
  FROM payments
  GROUP BY customer_id, currency
),
last_payment AS (
  SELECT customer_id, payment_key, status, amount_minor, currency, updated_at
  FROM payments
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY customer_id ORDER BY updated_at DESC, payment_key DESC
  ) = 1
),
lines AS ({unique_settlement_lines}),
settled AS (
  SELECT
    COALESCE(payments.customer_id, lines.customer_id) AS customer_id,
    lines.currency,
    COUNT(*) AS settlement_lines,
    SUM(lines.gross_minor) AS settled_gross_minor,
    SUM(lines.fee_minor) AS settled_fee_minor,
    SUM(lines.net_minor) AS settled_net_minor
  FROM lines
  LEFT JOIN payments
    ON payments.provider = lines.provider
    AND payments.provider_reference = lines.provider_reference
  WHERE COALESCE(payments.customer_id, lines.customer_id) IS NOT NULL
  GROUP BY 1, 2
),
currencies AS (
  SELECT customer_id, currency FROM totals
  UNION DISTINCT
  SELECT customer_id, currency FROM settled
)
SELECT
  customers.customer_id,
  customers.status,
  customers.country,
  customers.address_country,
  customers.terms_version,
  customers.created_at,
  COALESCE(kyc.kyc_status, 'no_document') AS kyc_status,
  COALESCE(kyc.documents, 0) AS kyc_documents,
  kyc.verified_at AS kyc_verified_at,
  currencies.currency,
  COALESCE(totals.payments, 0) AS payments,
{status_columns}
  totals.refunded_minor,
  last_payment.payment_key AS last_payment_key,
  last_payment.status AS last_payment_status,
  last_payment.amount_minor AS last_payment_amount_minor,
  last_payment.currency AS last_payment_currency,
  last_payment.updated_at AS last_payment_at,
  COALESCE(settled.settlement_lines, 0) AS settlement_lines,
  settled.settled_gross_minor,
  settled.settled_fee_minor,
  settled.settled_net_minor
FROM `{dataset}.customers_current` AS customers
LEFT JOIN `{dataset}.kyc_current` AS kyc
  ON kyc.customer_id = customers.customer_id
LEFT JOIN currencies ON currencies.customer_id = customers.customer_id
LEFT JOIN totals
  ON totals.customer_id = currencies.customer_id
  AND totals.currency = currencies.currency
LEFT JOIN settled
  ON settled.customer_id = currencies.customer_id
  AND settled.currency = currencies.currency
LEFT JOIN last_payment ON last_payment.customer_id = customers.customer_id
""",
)

DAILY_PAYMENT_VOLUME = ViewSpec(
    name="daily_payment_volume",
    version=1,
    description=(
        "Payments by the UTC day they reached a status, provider, currency and "
        "status: each payment counts once per status it reached, on the day it "
        "first reached it, with its amount and the amount refunded by then."
    ),
    sql="""
WITH events AS ({unique:payments}),
reached AS (
  SELECT payment_key, provider, currency, status, amount_minor,
    refunded_minor, updated_at
  FROM events
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (
    PARTITION BY payment_key, status
    ORDER BY updated_at, occurred_at, event_id
  ) = 1
)
SELECT
  DATE(updated_at) AS day,
  provider,
  currency,
  status,
  COUNT(*) AS payments,
  SUM(amount_minor) AS amount_minor,
  SUM(refunded_minor) AS refunded_minor
FROM reached
GROUP BY day, provider, currency, status
""",
)

KYC_FUNNEL = ViewSpec(
    name="kyc_funnel",
    version=1,
    description=(
        "Customers by status, KYC stage and whole days from sign-up to their "
        "first verified document (NULL until verified)."
    ),
    sql="""
SELECT
  customers.status,
  COALESCE(kyc.kyc_status, 'no_document') AS kyc_status,
  TIMESTAMP_DIFF(kyc.verified_at, customers.created_at, DAY)
    AS days_to_verification,
  COUNT(*) AS customers
FROM `{dataset}.customers_current` AS customers
LEFT JOIN `{dataset}.kyc_current` AS kyc
  ON kyc.customer_id = customers.customer_id
GROUP BY 1, 2, 3
""",
)

SETTLEMENT_MISMATCHES = ViewSpec(
    name="settlement_mismatches",
    version=1,
    description=(
        "Settled charges and refunds that disagree with the payment: "
        "payment_missing, currency_mismatch, status_mismatch (settled but "
        "never captured), amount_mismatch (charged gross differs from the "
        "amount) or refund_mismatch (more refunds settled than recorded). A "
        "payment not settled yet is not a mismatch."
    ),
    sql="""
WITH lines AS ({unique_settlement_lines}),
settled AS (
  SELECT
    provider,
    provider_reference,
    currency,
    COUNTIF(category = 'charge') AS charge_lines,
    SUM(IF(category = 'charge', gross_minor, 0)) AS charged_minor,
    COUNTIF(category = 'refund') AS refund_lines,
    -SUM(IF(category = 'refund', gross_minor, 0)) AS refunds_settled_minor,
    MAX(payout_id) AS payout_id,
    MIN(transaction_at) AS first_settled_at
  FROM lines
  WHERE provider_reference IS NOT NULL AND category IN ('charge', 'refund')
  GROUP BY provider, provider_reference, currency
),
compared AS (
  SELECT
    settled.*,
    payments.payment_key,
    payments.customer_id,
    payments.status AS payment_status,
    payments.currency AS payment_currency,
    payments.amount_minor AS payment_amount_minor,
    payments.refunded_minor AS payment_refunded_minor,
    CASE
      WHEN payments.payment_key IS NULL THEN 'payment_missing'
      WHEN payments.currency != settled.currency THEN 'currency_mismatch'
      WHEN settled.charge_lines > 0
        AND payments.status IN ('pending', 'authorised', 'failed', 'canceled')
        THEN 'status_mismatch'
      WHEN settled.charge_lines > 0
        AND settled.charged_minor != payments.amount_minor
        THEN 'amount_mismatch'
      WHEN settled.refund_lines > 0
        AND settled.refunds_settled_minor > payments.refunded_minor
        THEN 'refund_mismatch'
    END AS mismatch
  FROM settled
  LEFT JOIN `{dataset}.payments_current` AS payments
    ON payments.provider = settled.provider
    AND payments.provider_reference = settled.provider_reference
)
SELECT
  mismatch, provider, provider_reference, payment_key, customer_id, currency,
  payment_currency, payment_status, charged_minor, payment_amount_minor,
  refunds_settled_minor, payment_refunded_minor, charge_lines, refund_lines,
  payout_id, first_settled_at
FROM compared
WHERE mismatch IS NOT NULL
""",
)

# In creation order: a view comes after the views it reads.
VIEWS: Final[tuple[ViewSpec, ...]] = (
    PAYMENTS_CURRENT,
    KYC_CURRENT,
    CUSTOMERS_CURRENT,
    CUSTOMER_360,
    DAILY_PAYMENT_VOLUME,
    KYC_FUNNEL,
    SETTLEMENT_MISMATCHES,
)
