"""N trained models behind a hand-written ``custom_resources.Provider`` (``python provider.py N``).

The same handler asset as ``TrainedModel``'s, the same shape (an ``on_event`` and an
``is_complete`` function, 10 s polling, one hour), the permissions it needs, and one
``CustomResource`` per model with the properties ``TrainedModel`` renders.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, CustomResource, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr

from app_common import ACCOUNT, REGION, STACK, handler_properties, models

HANDLER = Path(__file__).resolve().parents[2] / "lambda" / "handler"

app = App()
stack = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
code = lambda_.Code.from_asset(str(HANDLER), exclude=["__pycache__", "*.pyc"])
functions = [
    lambda_.Function(
        stack,
        name,
        code=code,
        handler=f"index.{entry}",
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        memory_size=256,
        timeout=Duration.minutes(5),
    )
    for name, entry in (("OnEvent", "on_event"), ("IsComplete", "is_complete"))
]
policy = iam.PolicyStatement(
    actions=["cleanrooms-ml:*", "cleanrooms:PassMembership"], resources=["*"]
)
for function in functions:
    function.add_to_role_policy(policy)
provider = cr.Provider(
    stack,
    "Provider",
    on_event_handler=functions[0],
    is_complete_handler=functions[1],
    query_interval=Duration.seconds(10),
    total_timeout=Duration.hours(1),
)
token = provider.service_token
for i in range(models()):
    CustomResource(
        stack,
        f"Model{i}",
        service_token=token,
        resource_type="Custom::CleanRoomsMLTrainedModel",
        properties=handler_properties(i),
        removal_policy=RemovalPolicy.RETAIN,
    )
app.synth()
