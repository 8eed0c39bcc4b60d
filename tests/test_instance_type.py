"""``InstanceType`` keeps step with the service model."""

from __future__ import annotations

import botocore.session
from botocore.model import StringShape

from cdk_cleanrooms_ml import InstanceType
from cdk_cleanrooms_ml.instance_type import known_instance_types


def _service_enum() -> list[str]:
    model = botocore.session.get_session().get_service_model("cleanroomsml")
    shape = model.shape_for("InstanceType")
    assert isinstance(shape, StringShape)
    enum: list[str] = shape.enum
    return enum


def test_a_constant_for_each_of_the_service_models_instance_types() -> None:
    enum = _service_enum()
    assert len(enum) == 133
    assert list(known_instance_types()) == enum
    for value in enum:
        constant = getattr(InstanceType, value.upper().replace(".", "_").replace("-", "_"))
        assert constant.name == value


def test_of_is_an_escape_hatch_with_value_semantics() -> None:
    assert InstanceType.of("ml.m5.xlarge") == InstanceType.ML_M5_XLARGE
    assert hash(InstanceType.of("ml.m5.xlarge")) == hash(InstanceType.ML_M5_XLARGE)
    assert str(InstanceType.of("ml.new.huge")) == "ml.new.huge"
    # as written: a constant by its name, another type as InstanceType.of(...)
    assert repr(InstanceType.ML_M5_XLARGE) == "InstanceType.ML_M5_XLARGE"
    assert repr(InstanceType.of("ml.m5.xlarge")) == "InstanceType.ML_M5_XLARGE"
    assert repr(InstanceType.of("ml.new.huge")) == "InstanceType.of('ml.new.huge')"
