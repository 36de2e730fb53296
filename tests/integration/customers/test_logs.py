"""No personal data, token or MRZ in the customer function's logs."""

from __future__ import annotations

import json
import uuid

from emulators.platform import Platform
from tests.integration.customers.conftest import Api, Users, customer_body, unique_phone
from tests.integration.customers.test_documents import PASSPORT, TD3_MRZ


def test_full_run_logs_no_personal_data(
    api: Api, users: Users, platform: Platform
) -> None:
    log = platform.config.state_dir / "logs" / "function-customers.log"
    start = log.stat().st_size if log.exists() else 0
    unique = uuid.uuid4().hex[:8]
    body = customer_body(
        given_name="Amélie" + "".join(chr(97 + int(c, 16)) for c in unique[:4]),
        family_name="Poulain-Dufayel",
        date_of_birth="1981-03-09",
    )
    user, staff = users.new(), users.new(staff=True)
    new_email, new_phone = f"amelie.{unique}@example.org", unique_phone()

    created = api.create(user, body)
    assert created.status_code == 201
    api.create(user, body | {"email": "broken"})
    api.request("GET", f"/v1/customers/{user.uid}", headers=staff.headers())
    api.request(
        "PATCH",
        f"/v1/customers/{user.uid}",
        json={"email": new_email, "phone": new_phone},
        headers=user.headers(**{"If-Match": created.headers["ETag"]}),
    )
    api.request(
        "POST",
        f"/v1/customers/{user.uid}/documents",
        json=PASSPORT | {"mrz": TD3_MRZ},
        headers=user.headers(),
    )

    lines = log.read_text()[start:].splitlines()
    assert len(lines) >= 5
    assert all(json.loads(line)["severity"] for line in lines)
    text = "\n".join(lines)
    personal = [
        body["given_name"],
        body["family_name"],
        body["email"],
        body["phone"],
        body["date_of_birth"],
        new_email,
        new_phone,
        TD3_MRZ[1],
        user.token,
        staff.token,
    ]
    assert [value for value in personal if value in text] == []
