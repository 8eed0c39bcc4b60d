"""The errors raised for invalid props."""

from __future__ import annotations

from collections.abc import Sequence


class ValidationError(ValueError):
    """Raised once, at synth time, with every invalid prop of a construct listed.

    ``failures`` holds one message per problem; each names the prop, the value
    received and what is allowed.
    """

    def __init__(self, construct_type: str, construct_path: str, failures: Sequence[str]) -> None:
        self.construct_type = construct_type
        self.construct_path = construct_path
        self.failures: tuple[str, ...] = tuple(failures)
        lines = "\n".join(f"  - {failure}" for failure in self.failures)
        count = len(self.failures)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"invalid props for {construct_type} {construct_path} ({count} {noun}):\n{lines}"
        )


class TrainedModelValidationError(ValidationError):
    """Invalid ``TrainedModel`` props (see ``ValidationError``)."""

    def __init__(self, construct_path: str, failures: Sequence[str]) -> None:
        super().__init__("TrainedModel", construct_path, failures)


class RemovalPolicyError(ValueError):
    """A removal policy the handler cannot honour (``SNAPSHOT``, a policy that spares
    replacements), or an override that would make CloudFormation's policy disagree
    with the handler's."""
