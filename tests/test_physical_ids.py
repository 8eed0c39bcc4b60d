"""Physical ids: the membership kinds' parse as they always did; the audience kinds' ARNs
name no membership (``ownership.ACCOUNT``); an export's id is the ARN of what it exports
and its encoded name; a pending id's scope is whichever of the three the kind has."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ownership
from ownership import ACCOUNT, ACCOUNT_SCOPE, Pending, Ref

M = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
P = f"arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/{M}"
MODEL = ownership.arn_pattern("trained-model")
AUDIENCE = ownership.account_arn_pattern("audience-model")
V = "11111111-2222-4333-8444-555555555555"
R = "0123456789abcdef"


@pytest.mark.parametrize(
    ("physical_id", "expected"),
    [
        (f"{P}/trained-model/m1", Ref(f"{P}/trained-model/m1", None, M)),
        (f"{P}/trained-model/m1#{V}", Ref(f"{P}/trained-model/m1", V, M)),
        (f"{P}/trained-model/m1#NULL", Ref(f"{P}/trained-model/m1", None, M)),
        (f"{P}/trained-model/m1#not-a-version", None),
        (f"pending:{M}:{R}:name", Pending(M, R, "name")),
        (f"pending:{M}:anything:name:with:colons", Pending(M, "anything", "name:with:colons")),
        (f"pending:{M}:{R}:", None),
        (f"pending:account:{R}:name", None),  # a membership kind's scope is a membership
        (f"pending:{P}/trained-model/m1:{R}:name", None),
        ("Stack-LogicalId-1XKQ2Z7ZJ4M5N", None),
        ("AWSCDK::CustomResourceProviderFramework::CREATE_FAILED", None),
        ("arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-model/a1", None),
        ("", None),
        (None, None),
    ],
)
def test_a_membership_kind_parses_its_ids_as_it_always_did(
    physical_id: str | None, expected: object
) -> None:
    assert ownership.parse_physical_id(MODEL, physical_id) == expected


def test_an_audience_kind_s_arn_names_the_account_not_a_membership() -> None:
    arn = "arn:aws:cleanrooms-ml:eu-west-1:111122223333:audience-model/4b1c2d3e"
    assert ownership.make_ref(AUDIENCE, arn, None) == Ref(arn, None, ACCOUNT)
    parse = ownership.parse_physical_id
    assert parse(AUDIENCE, arn, ACCOUNT_SCOPE) == Ref(arn, None, ACCOUNT)
    pending = Pending(ACCOUNT, R, "Stack-Audience-1A2B3C4D-0123456789ab")
    assert parse(AUDIENCE, pending.physical_id, ACCOUNT_SCOPE) == pending
    assert parse(AUDIENCE, f"pending:{M}:{R}:n", ACCOUNT_SCOPE) is None
    assert parse(AUDIENCE, f"{P}/trained-model/m1", ACCOUNT_SCOPE) is None
    with pytest.raises(ValueError, match="not an ARN of this kind"):
        ownership.make_ref(AUDIENCE, f"{P}/trained-model/m1", None)


NAMES = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF, exclude_characters="\x7f"),
    min_size=1,
    max_size=63,
)


@given(name=NAMES, versioned=st.booleans())
def test_an_export_s_id_names_what_it_exports_and_its_name_whatever_it_holds(
    name: str, versioned: bool
) -> None:
    """An export has no ARN: its id is the exported resource's ARN and its name,
    percent-encoded, so that ``/``, ``#`` and ``:`` in a name never cut it wrong; a
    pending one's scope is the exported resource's physical id (an ARN: colons)."""
    exports = ownership.export_pattern(MODEL)
    model = f"{P}/trained-model/a/b.c"
    version = V if versioned else None
    ref = ownership.make_ref(exports, ownership.export_arn(model, name), version)
    assert ref.membership == M
    assert ownership.export_parts(ref) == (model, name)
    scope = re.compile(MODEL.pattern + f"(?:#{ownership.UUID.pattern})?")
    assert ownership.parse_physical_id(exports, ref.physical_id, scope) == ref
    parent = f"{model}#{V}" if versioned else model
    pending = Pending(parent, ownership.request_digest("r-1"), name)
    assert ownership.parse_physical_id(exports, pending.physical_id, scope) == pending
    # a plain model's id is no export's (each kind parses only its own resources' ids)
    assert ownership.parse_physical_id(exports, model, scope) is None
