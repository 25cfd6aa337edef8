"""How to run a scenario file from a test and assert on the state it leaves.

``refiner.run_scenario`` resets the mock, replays the file's events through the mapper
profile in effect and checks the file's own expectations; the state stays, so the test
can go on asserting. The ``refiner_profile`` marker picks the profile.
"""

from pathlib import Path

import pytest

JOURNEY = (
    Path(__file__).resolve().parents[2]
    / "scenarios"
    / "journeys"
    / "two-users-one-account.yaml"
)


def test_the_transformer_leaves_email_only_contacts(refiner):
    refiner.run_scenario(JOURNEY)

    refiner.assert_contact(remote_id=None, email="bob@acme.example.test", account=None)
    refiner.assert_account(remote_id="acct-500", contacts=["u-501", "u-502"])
    assert len(refiner.contacts) == 4


@pytest.mark.refiner_profile("documented")
def test_the_documented_mapping_keeps_one_contact_per_user(refiner):
    result = refiner.run_scenario(JOURNEY)

    assert (result.profile, result.passed) == ("documented", True)
    refiner.assert_contact(remote_id="u-502", email="bob@acme.example.test")
    refiner.assert_event("Invite Accepted", contact="bob@acme.example.test")
    assert [contact["remote_id"] for contact in refiner.contacts] == ["u-501", "u-502"]
