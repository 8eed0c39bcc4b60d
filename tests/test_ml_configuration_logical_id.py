"""An ML configuration's resource keeps its logical id when its construct is renamed or
moved within its stack (issue 20, hole 5), also when the membership is a token.

Hole 5: renaming an ``MLConfiguration`` that uses its default role (the rename makes a
new role) gave its resource a new logical id; CloudFormation then sends Create(new
logical id) with the new role while the old resource still holds the membership's
one configuration, and the Create is refused ("membership ... already has an ML
configuration ... that this resource did not make"). The fix makes the logical id
from the membership (``ml_configuration.logical_id_of``), so the rename is an Update
in place, which a rollback puts back (README: "renaming or moving the construct
within its stack, with its default role (then a new one) or a new output location in
the same deploy, is an update in place of the same resource").

The construct accepts a membership known only at deploy time (a token: a parameter, an
import, another construct's attribute; validation skips it), and then keeps the
construct-path logical id (``if not unresolved(membership)``): a rename is hole 5
again.
"""

from __future__ import annotations

from aws_cdk import App, CfnParameter, Environment, Stack
from aws_cdk.assertions import Template

import contract
from cdk_cleanrooms_ml import MLConfiguration
from helpers import ACCOUNT, REGION


def _configuration_logical_id(construct_id: str) -> str:
    """The logical id of the configuration's resource, its construct named
    ``construct_id``, the membership a stack parameter."""
    stack = Stack(App(), "Test", env=Environment(account=ACCOUNT, region=REGION))
    membership = CfnParameter(stack, "Membership", type="String").value_as_string
    MLConfiguration(stack, construct_id, membership_identifier=membership)
    (logical_id,) = Template.from_stack(stack).find_resources(
        contract.ML_CONFIGURATION_RESOURCE_TYPE
    )
    return str(logical_id)


def test_renaming_a_configuration_of_a_token_membership_keeps_its_logical_id() -> None:
    """Deploy 1: ``MLConfiguration(stack, "Config", membership_identifier=<parameter>)``
    -> resource X puts the membership's configuration (default role R1). Deploy 2: the
    construct renamed ``"Renamed"`` (a new default role R2).

    Required (hole 5's fix, the README): the same logical id, so deploy 2 is
    Update(X, role R2), in place, and a failed deploy's rollback puts R1 back.

    What happens: the logical id is the construct path's, a new one: CloudFormation sends
    Create(Y, role R2), which the handler refuses because X's configuration (R1) is held
    (and the cleanup Delete(X) would be the next hazard).
    """
    assert _configuration_logical_id("Config") == _configuration_logical_id("Renamed")
