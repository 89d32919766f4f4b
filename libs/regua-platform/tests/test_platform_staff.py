"""Staff tokens: signed, expiring, purpose-bound, issued by the CLI (unit, no I/O)."""

from datetime import UTC, datetime, timedelta

import pytest

from regua_platform import links, staff

SECRET = "a-staff-token-secret-for-tests"
NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)


def test_a_token_carries_staff_role_tenant_and_expires() -> None:
    token = staff.issue(SECRET, "ana.souza", "agent", "tn_1", NOW + timedelta(hours=8))
    assert staff.verify(token, SECRET, NOW) == staff.StaffClaims("ana.souza", "agent", "tn_1")
    with pytest.raises(links.InvalidLink, match="expired"):
        staff.verify(token, SECRET, NOW + timedelta(hours=8, seconds=1))
    with pytest.raises(links.InvalidLink, match="signature"):
        staff.verify(token, "another-secret-entirely", NOW)


def test_a_debtor_link_is_not_a_staff_token_even_with_the_same_secret() -> None:
    link = links.sign(links.SELF_SERVICE, {"s": "ana", "r": "admin", "t": "*"}, SECRET, NOW + timedelta(days=1))
    with pytest.raises(links.InvalidLink, match="not issued for staff"):
        staff.verify(link, SECRET, NOW)
    with pytest.raises(ValueError, match="role"):
        staff.issue(SECRET, "ana", "owner", "tn_1", NOW)


def test_the_cli_prints_a_token_signed_with_the_configured_secret(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGUA_STAFF_TOKEN_SECRET", SECRET)
    staff.main(["issue", "--staff-id", "carla", "--role", "supervisor", "--tenant", "*", "--hours", "2"])
    token = capsys.readouterr().out.strip()
    claims = staff.verify(token, SECRET, datetime.now(UTC) + timedelta(hours=1))
    assert claims == staff.StaffClaims("carla", "supervisor", "*")
    with pytest.raises(links.InvalidLink, match="expired"):
        staff.verify(token, SECRET, datetime.now(UTC) + timedelta(hours=2, minutes=1))
