"""N trained models with ``AwsCustomResource`` (``python aws_custom_resource.py N``).

What most users write today: one ``AwsCustomResource`` per model calling
``CleanRoomsML:CreateTrainedModel`` (and ``DeleteTrainedModelOutput`` on delete),
its policy from the SDK calls.
"""

from __future__ import annotations

from aws_cdk import App, Environment, Stack
from aws_cdk import custom_resources as cr

from app_common import ACCOUNT, MEMBERSHIP, REGION, STACK, models, sdk_request

app = App()
stack = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
for i in range(models()):
    cr.AwsCustomResource(
        stack,
        f"Model{i}",
        on_create=cr.AwsSdkCall(
            service="CleanRoomsML",
            action="CreateTrainedModel",
            parameters=sdk_request(i),
            physical_resource_id=cr.PhysicalResourceId.from_response("trainedModelArn"),
        ),
        on_delete=cr.AwsSdkCall(
            service="CleanRoomsML",
            action="DeleteTrainedModelOutput",
            parameters={
                "trainedModelArn": cr.PhysicalResourceIdReference(),
                "membershipIdentifier": MEMBERSHIP,
            },
        ),
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
            resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
        ),
        install_latest_aws_sdk=False,
    )
app.synth()
