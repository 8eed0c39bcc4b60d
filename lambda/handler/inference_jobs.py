"""The inference job kind: ``Custom::CleanRoomsMLTrainedModelInferenceJob`` behind ``engine.Kind``.

A job runs a trained model over an ML input channel and ends ACTIVE when its
output is ready (ASSUMPTION A14). There is no delete: under DESTROY a job still
running is cancelled (A15), and a finished one is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import faults
import identity
import kinds
import ownership
from engine import IN_PROGRESS, Desired, Observed, Step, Summary
from ownership import Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

ARN: Final = ownership.arn_pattern("trained-model-inference-job")
CANCELLING: Final = frozenset({"CANCEL_PENDING", "CANCEL_IN_PROGRESS"})


def secret_values(props: Mapping[str, Any]) -> tuple[str, ...]:
    """The container's environment values (never shown)."""
    return tuple(identity.string_map(props, contract.ENVIRONMENT).values())


def parse(props: Mapping[str, Any]) -> Desired:
    return kinds.desired(props, identity.inference_job_document(props), secret_values(props))


def create_request(desired: Desired, name: str, tags: Mapping[str, str]) -> dict[str, Any]:
    """The full ``start_trained_model_inference_job`` arguments."""
    return kinds.request(desired, name, tags)


def _key(ref: Ref) -> dict[str, Any]:
    return {"membershipIdentifier": ref.membership, "trainedModelInferenceJobArn": ref.arn}


class InferenceJobs(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML trained model inference jobs."""

    resource_type = contract.INFERENCE_JOB_RESOURCE_TYPE
    noun = "trained model inference job"
    cancellable = True
    starts = "a new inference job"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        response = client.start_trained_model_inference_job(**create_request(desired, name, tags))
        return ownership.make_ref(ARN, response["trainedModelInferenceJobArn"], None)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        job: Mapping[str, Any] = client.get_trained_model_inference_job(**_key(ref))
        hidden = [str(v) for v in (job.get("environment") or {}).values()]
        return kinds.observed(
            ref,
            job,
            hidden,
            {
                contract.ATTR_TRAINED_MODEL_INFERENCE_JOB_ARN: ref.arn,
                contract.ATTR_NAME: str(job.get("name", "")),
                contract.ATTR_STATUS: str(job.get("status", "")),
            },
        )

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        paginator = client.get_paginator("list_trained_model_inference_jobs")
        for page in paginator.paginate(membershipIdentifier=membership):
            for item in page.get("trainedModelInferenceJobs", []):
                ref = ownership.make_ref(ARN, str(item["trainedModelInferenceJobArn"]), None)
                yield kinds.summary(ref, item)

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        """Cancel a job still running; a finished, failed or cancelled one is done.

        A failed cancellation is tried again once per Delete event (deleting the
        stack again retries it).
        """
        status = observed.status
        if status in IN_PROGRESS or (first and status == "CANCEL_FAILED"):
            try:
                client.cancel_trained_model_inference_job(**_key(observed.ref))
            except Exception as error:
                if status == "CANCEL_FAILED" and faults.is_transient(error):
                    return Step.DEFERRED
                if status == "CANCEL_FAILED" and faults.is_conflict(error):
                    raise kinds.delete_failed(self.noun, observed) from error
                raise
            return Step.WAIT
        if status in CANCELLING:
            return Step.WAIT
        if status == "CANCEL_FAILED":
            raise kinds.delete_failed(self.noun, observed)
        return Step.DONE  # ACTIVE (finished), CREATE_FAILED, INACTIVE: nothing to stop


KIND: Final = InferenceJobs()
