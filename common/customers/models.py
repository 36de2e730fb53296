"""Models: the customer API's request and response bodies, validated strictly.

Requests forbid unknown members and coerce nothing (strict mode); each rule
that fails names its field and a stable code, so that a 422 lists every
field at fault. The OpenAPI document is generated from these same models.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from common.customers.events import CustomerStatus
from common.events import format_timestamp
from common.kyc.events import DocumentStatus, DocumentType
from common.payments.listing import PaymentView

ADULT_AGE: Final = 18
MAX_DOCUMENT_BYTES: Final = 10 * 1024 * 1024
DOCUMENT_CONTENT_TYPES: Final = ("image/jpeg", "image/png", "application/pdf")
NAME_PUNCTUATION: Final = frozenset(" -'\u2019")
# ICAO 9303: TD1 cards have three lines of 30, TD2 two of 36, TD3 two of 44.
MRZ_SHAPES: Final = {(3, 30), (2, 36), (2, 44)}
_MRZ_LINE = re.compile(r"[A-Z0-9<]+")
_POSTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,19}")


def _name(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(value) <= 100:
        raise PydanticCustomError("invalid_name", "expected 1 to 100 characters")
    previous = " "
    for char in value:
        category = unicodedata.category(char)
        letter = category.startswith("L")
        # A combining mark belongs to the letter before it.
        mark = category.startswith("M") and unicodedata.category(previous)[0] in "LM"
        if not (letter or mark or char in NAME_PUNCTUATION):
            raise PydanticCustomError(
                "invalid_name",
                "expected letters, spaces, hyphens and apostrophes only",
            )
        previous = char
    if not any(unicodedata.category(c).startswith("L") for c in value):
        raise PydanticCustomError("invalid_name", "expected at least one letter")
    return value


def _email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "invalid_email", "expected an e-mail address"
        ) from exc
    return str(checked.normalized)


def _phone(value: str) -> str:
    import phonenumbers

    if not value.strip().startswith("+"):
        raise PydanticCustomError(
            "invalid_phone", "expected an E.164 number with its country code"
        )
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise PydanticCustomError("invalid_phone", "expected a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("invalid_phone", "expected a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _country(value: str) -> str:
    import pycountry

    if (
        not re.fullmatch(r"[A-Z]{2}", value)
        or pycountry.countries.get(alpha_2=value) is None
    ):
        raise PydanticCustomError(
            "invalid_country", "expected an ISO 3166-1 alpha-2 country code"
        )
    return value


def _calendar_date(value: object) -> object:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise PydanticCustomError("invalid_date", "expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise PydanticCustomError("invalid_date", "expected a real date") from exc


def _adult(value: date) -> date:
    today = datetime.now(UTC).date()
    if value > today:
        raise PydanticCustomError("date_in_future", "expected a date in the past")
    birthday_passed = (today.month, today.day) >= (value.month, value.day)
    if today.year - value.year - (0 if birthday_passed else 1) < ADULT_AGE:
        raise PydanticCustomError("underage", f"expected an age of {ADULT_AGE} or more")
    return value


def _postal_code(value: str) -> str:
    value = value.strip()
    if not _POSTAL_CODE.fullmatch(value):
        raise PydanticCustomError(
            "invalid_postal_code",
            "expected 1 to 20 letters, digits, spaces and hyphens",
        )
    return value


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


Name = Annotated[str, AfterValidator(_name)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Phone = Annotated[str, Field(max_length=32), AfterValidator(_phone)]
Country = Annotated[
    str,
    AfterValidator(_country),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{2}$"}),
]
DateOfBirth = Annotated[
    date,
    BeforeValidator(_calendar_date),
    AfterValidator(_adult),
    WithJsonSchema({"type": "string", "format": "date"}),
]
Line = Annotated[str, AfterValidator(_text), Field(min_length=1, max_length=200)]
Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(format_timestamp, return_type=str),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class Address(_Request):
    """A postal address."""

    line1: Line
    line2: Annotated[str, AfterValidator(_text), Field(max_length=200)] | None = None
    city: Annotated[str, AfterValidator(_text), Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(max_length=20), AfterValidator(_postal_code)]
    country: Country


class CustomerCreate(_Request):
    """The body of `POST /v1/customers`."""

    given_name: Name
    family_name: Name
    email: Email
    phone: Phone
    date_of_birth: DateOfBirth
    country: Country
    address: Address
    terms_version: Annotated[
        str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    ]


class CustomerUpdate(_Request):
    """The body of `PATCH /v1/customers/{id}`: contact fields only."""

    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None

    @model_validator(mode="after")
    def _something_changes(self) -> CustomerUpdate:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "empty_update", "expected at least one of email, phone, address"
            )
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise PydanticCustomError("null_field", f"{name}: may not be null")
        return self


class CustomerProfile(_Response):
    """A customer's profile, as its owner and staff read it."""

    id: str
    status: CustomerStatus
    given_name: str
    family_name: str
    email: str
    phone: str
    date_of_birth: date
    country: str
    address: Address
    terms_version: str
    created_at: Timestamp
    updated_at: Timestamp


def _mrz(lines: list[str]) -> list[str]:
    shape = (len(lines), len(lines[0]) if lines else 0)
    same_length = all(len(line) == shape[1] for line in lines)
    if shape not in MRZ_SHAPES or not same_length:
        raise PydanticCustomError(
            "invalid_mrz", "expected 3 lines of 30, or 2 of 36 or 44 characters"
        )
    if not all(_MRZ_LINE.fullmatch(line) for line in lines):
        raise PydanticCustomError("invalid_mrz", "expected A-Z, 0-9 and < only")
    return lines


class DocumentAnnouncement(_Request):
    """The body of `POST /v1/customers/{id}/documents`."""

    type: DocumentType
    content_type: Literal["image/jpeg", "image/png", "application/pdf"]
    size_bytes: Annotated[int, Field(ge=1, le=MAX_DOCUMENT_BYTES)]
    mrz: (
        Annotated[
            list[Annotated[str, Field(max_length=44)]],
            Field(max_length=3),
            AfterValidator(_mrz),
        ]
        | None
    ) = None


class DocumentUpload(_Response):
    """Where and how to upload an announced document."""

    document_id: str
    upload_url: str
    upload_headers: dict[str, str]
    expires_at: Timestamp


class DocumentView(_Response):
    """A KYC document and the result of its checks."""

    document_id: str
    type: DocumentType
    status: DocumentStatus
    reasons: list[str]
    created_at: Timestamp
    decided_at: Timestamp | None


class DocumentList(_Response):
    """The body of `GET /v1/customers/{id}/documents`."""

    documents: list[DocumentView]


class KycDecision(_Request):
    """The body of `POST /v1/customers/{id}/kyc-decisions` (staff)."""

    document_id: Annotated[str, Field(min_length=1, max_length=64)]
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{2,63}$")]


class KycDecisionResult(_Response):
    """The document as decided, and the customer's status after it."""

    document: DocumentView
    customer_status: CustomerStatus


class PaymentList(_Response):
    """The body of `GET /v1/customers/{id}/payments`."""

    payments: list[PaymentView]
