from __future__ import annotations

from harness.expectations import compare, compare_section, differences, nearest

CONTACTS = [
    {"remote_id": "u1", "email": "a@x.test", "attributes": {"plan": "pro", "seats": 3}},
    {"remote_id": "u2", "email": None, "attributes": {"plan": "free"}},
    {"remote_id": None, "email": "c@x.test", "attributes": {}},
]


def test_partial_mappings_compare_only_written_keys():
    assert (
        differences({"remote_id": "u1", "attributes": {"plan": "pro"}}, CONTACTS[0])
        == []
    )


def test_differences_name_each_path():
    assert differences(
        {"remote_id": "u1", "attributes": {"plan": "team", "tier": "a"}}, CONTACTS[0]
    ) == [
        'attributes.plan: expected "team", found "pro"',
        'attributes.tier: missing, expected "a"',
    ]


def test_numbers_never_equal_text_or_booleans():
    assert differences({"n": 1}, {"n": 1.0}) == []
    assert differences({"n": 1}, {"n": "1"}) == ['n: expected 1, found "1"']
    assert differences({"n": 1}, {"n": True}) == ["n: expected 1, found true"]
    assert differences({"n": None}, {"n": ""}) == ['n: expected null, found ""']


def test_lists_must_have_the_same_length():
    assert differences({"tags": ["a"]}, {"tags": ["a", "b"]}) == [
        'tags: expected 1 items, found 2: ["a", "b"]'
    ]
    assert differences([{"a": 1}], [{"a": 1, "b": 2}]) == []


def test_nearest_ranks_by_fewest_differences():
    ranked = nearest({"remote_id": "u2", "attributes": {"plan": "pro"}}, CONTACTS)

    assert [near.item["remote_id"] for near in ranked] == ["u1", "u2", None]
    assert ranked[0].differences == ['remote_id: expected "u2", found "u1"']
    assert ranked[1].differences == ['attributes.plan: expected "pro", found "free"']


def test_each_expected_item_needs_a_different_actual_item():
    pro = {"attributes": {"plan": "pro"}}

    mismatches = compare_section("contacts", [pro, pro], CONTACTS)

    assert [m.problem for m in mismatches] == ["contacts[1]: no contact matches"]


def test_calls_match_in_the_order_written():
    calls = [{"path": "/v1/identify-user"}, {"path": "/v1/track"}]

    assert (
        compare_section(
            "calls", [{"path": "/v1/identify-user"}, {"path": "/v1/track"}], calls
        )
        == []
    )
    mismatches = compare_section(
        "calls", [{"path": "/v1/track"}, {"path": "/v1/identify-user"}], calls
    )
    assert [m.problem for m in mismatches] == [
        "calls[1]: no call after the previous one matches"
    ]


def test_counts_are_exact():
    actual = {
        "contacts": CONTACTS,
        "accounts": [],
        "events": [],
        "rejected": [],
        "calls": [],
    }

    mismatches = compare({"counts": {"contacts": 2, "accounts": 0}}, actual)

    assert [m.problem for m in mismatches] == ["counts.contacts: expected 2, found 3"]


def test_missing_expected_item_reports_expected_and_nearest():
    actual = {
        "contacts": CONTACTS,
        "accounts": [],
        "events": [],
        "rejected": [],
        "calls": [],
    }

    [mismatch] = compare({"contacts": [{"email": "b@x.test"}]}, actual)

    assert mismatch.to_json() == {
        "section": "contacts",
        "problem": "contacts[0]: no contact matches",
        "expected": {"email": "b@x.test"},
        "nearest": [
            {
                "item": CONTACTS[0],
                "differences": ['email: expected "b@x.test", found "a@x.test"'],
            },
            {
                "item": CONTACTS[1],
                "differences": ['email: expected "b@x.test", found null'],
            },
            {
                "item": CONTACTS[2],
                "differences": ['email: expected "b@x.test", found "c@x.test"'],
            },
        ],
    }
