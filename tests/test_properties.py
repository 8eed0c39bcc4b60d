"""Property-based tests (hypothesis).

Construct: across the whole input space (valid and invalid values, tokens
included) every case either synthesizes to properties that the handler parses
into a ``create_trained_model`` request accepted by botocore's validator AND the
emulator's stricter one — or raises ``TrainedModelValidationError`` naming the
bad prop. Zero crashes of any other type; zero accepted-then-rejected.
"""

from __future__ import annotations

import string
from typing import Any

import botocore.session
from aws_cdk import Duration, Fn, Size, Token
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import contract
import trained_models
from cdk_cleanrooms_ml import (
    DataChannel,
    InstanceType,
    S3DataDistributionType,
    TrainedModel,
    TrainedModelValidationError,
    TrainingInputMode,
)
from cdk_cleanrooms_ml.instance_type import known_instance_types
from cdk_cleanrooms_ml.local.emulator.shapes import service_model, validate
from helpers import MEMBERSHIP, new_stack, synthesized_properties

PREFIX = f"arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/{MEMBERSHIP}"
PROPS = [
    "membership_identifier",
    "trained_model_name",
    "configured_model_algorithm_association_arn",
    "hyperparameters",
    "environment",
    "instance_type",
    "instance_count",
    "volume_size",
    "max_runtime",
    "data_channels",
    "description",
    "ml_model_training_payer_account_id",
    "tags",
    "training_input_mode",
    "channel_name",
]

any_text = st.text(max_size=80)
token_string = st.sampled_from(["Membership", "Name", "Assoc"]).map(Fn.import_value)
uuid_like = st.uuids().map(str)
ident = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=70)


def _or_junk(good: st.SearchStrategy[Any], junk: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``good``, one time in 16 ``junk``: about half the cases are fully valid."""
    return st.integers(0, 15).flatmap(lambda pick: junk if pick == 0 else good)


memberships = _or_junk(uuid_like, st.one_of(any_text, uuid_like.map(str.upper), token_string))
association_arns = _or_junk(
    ident.map(lambda i: f"{PREFIX}/configured-model-algorithm-association/{i}"),
    st.one_of(any_text, ident.map(lambda i: f"{PREFIX}/ml-input-channel/{i}"), token_string),
)
channel_arns = _or_junk(
    ident.map(lambda i: f"{PREFIX}/ml-input-channel/{i}"),
    st.one_of(any_text, ident.map(lambda i: f"arn:aws:s3:::{i}")),
)
names = _or_junk(
    st.one_of(
        st.none(), st.text(alphabet=string.printable.strip() + " é中", min_size=1, max_size=63)
    ),
    st.one_of(st.text(min_size=0, max_size=70), token_string),
)
channel_names = _or_junk(st.sampled_from(["train", "test", "validation", "a.b-c_d"]), any_text)
printable = st.text(alphabet=string.printable.strip() + " é中", min_size=1, max_size=40)
channels = st.lists(
    st.builds(
        DataChannel,
        ml_input_channel_arn=channel_arns,
        channel_name=channel_names,
        s3_data_distribution_type=st.one_of(st.none(), st.sampled_from(S3DataDistributionType)),
    ),
    min_size=1,
    max_size=3,
)
string_maps = _or_junk(
    st.dictionaries(printable, printable, max_size=4),
    st.dictionaries(any_text, any_text, max_size=4),
)
env_maps = _or_junk(
    st.dictionaries(
        st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True), printable, max_size=4
    ),
    st.dictionaries(any_text, any_text, max_size=4),
)
instance_types = _or_junk(
    st.sampled_from(known_instance_types()).map(InstanceType.of), any_text.map(InstanceType.of)
)
counts = _or_junk(
    st.one_of(st.none(), st.integers(1, 5)),
    st.one_of(st.integers(-1, 7), st.just(Token.as_number(Fn.import_value("N")))),
)
sizes = _or_junk(
    st.integers(1, 8192).map(Size.gibibytes),
    st.one_of(st.integers(0, 9000).map(Size.gibibytes), st.integers(1, 4096).map(Size.mebibytes)),
)
runtimes = _or_junk(
    st.one_of(st.none(), st.integers(1, 2_419_200).map(Duration.seconds)),
    st.one_of(
        st.integers(0, 2_500_000).map(Duration.seconds), st.integers(1, 5000).map(Duration.millis)
    ),
)
descriptions = _or_junk(st.one_of(st.none(), printable), st.text(max_size=300))
payers = _or_junk(st.one_of(st.none(), st.from_regex(r"[0-9]{12}", fullmatch=True)), any_text)
tag_maps = _or_junk(
    st.dictionaries(printable, printable, max_size=5),
    st.one_of(
        st.dictionaries(any_text, st.text(max_size=300), max_size=5),
        st.dictionaries(st.sampled_from(["aws:x", "AWS:y", "team"]), any_text, max_size=3),
    ),
)


def _names_a_prop(error: TrainedModelValidationError) -> None:
    """Every failure starts with the prop it is about (``prop: ...`` or ``prop[...]``)."""
    assert error.failures
    for failure in error.failures:
        head = failure.split(":", 1)[0]
        assert any(prop in head for prop in PROPS), failure


def _botocore_accepts(request: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("cleanroomsml")
    shape = model.operation_model("CreateTrainedModel").input_shape
    assert shape is not None
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def _emulator_accepts(request: dict[str, Any]) -> None:
    shape = service_model().operation_model("CreateTrainedModel").input_shape
    assert shape is not None
    problems = validate(shape, request)
    assert not problems, problems


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    membership=memberships,
    name=names,
    association=association_arns,
    hyperparameters=string_maps,
    environment=env_maps,
    instance_type=instance_types,
    instance_count=counts,
    volume=sizes,
    runtime=runtimes,
    data_channels=channels,
    description=descriptions,
    payer=payers,
    tags=tag_maps,
    mode=st.one_of(st.none(), st.sampled_from(TrainingInputMode)),
)
def test_every_input_is_either_rejected_by_name_or_accepted_end_to_end(
    membership: str,
    name: str | None,
    association: str,
    hyperparameters: dict[str, str],
    environment: dict[str, str],
    instance_type: InstanceType,
    instance_count: int | None,
    volume: Size,
    runtime: Duration | None,
    data_channels: list[DataChannel],
    description: str | None,
    payer: str | None,
    tags: dict[str, str],
    mode: TrainingInputMode | None,
) -> None:
    stack = new_stack(env=False)
    try:
        model = TrainedModel(
            stack,
            "Model",
            membership_identifier=membership,
            trained_model_name=name,
            configured_model_algorithm_association_arn=association,
            hyperparameters=hyperparameters,
            environment=environment,
            instance_type=instance_type,
            instance_count=instance_count,
            volume_size=volume,
            max_runtime=runtime,
            data_channels=data_channels,
            description=description,
            ml_model_training_payer_account_id=payer,
            tags=tags,
            training_input_mode=mode,
        )
    except TrainedModelValidationError as error:
        event("rejected by validation")
        _names_a_prop(error)
        return
    properties = synthesized_properties(model)
    if any(
        isinstance(v, dict) and any(str(k).startswith("Fn::") for k in v)
        for v in properties.values()
    ):
        event("accepted with tokens")
        return  # unresolved tokens: CloudFormation resolves them, nothing to check here
    desired = trained_models.parse(properties)
    fixed = properties.get(contract.NAME)
    request_name = (
        fixed if fixed is not None else f"{properties[contract.NAME_PREFIX]}-0123456789ab"
    )
    tags_with_owner = {**desired.tags, contract.RESERVED_TAG_KEY: "v1.x.y.z"}
    request = trained_models.create_request(desired, request_name, tags_with_owner)
    _botocore_accepts(request)
    _emulator_accepts(request)
    event("accepted end to end")
