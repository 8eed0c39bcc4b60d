"""The local cloud: deploy a CDK app with no AWS account and no Docker.

MiniStack (an AWS emulator: CloudFormation, Lambda, IAM, S3, Step Functions, ...)
runs the stack; the Clean Rooms ML emulator (``cdk_cleanrooms_ml.local.emulator``)
stands in for the ``cleanroomsml`` API, which MiniStack does not have. The
``cdk-cleanrooms-ml local`` command (``pip install 'cdk-cleanrooms-ml[local]'``)
starts both, bootstraps, deploys through the aws-cdk CLI and stops what it
started. Nothing here imports the AWS CDK.

The emulator's behaviour, and every guess it makes where the service model is
silent, is written down in ``ASSUMPTIONS.md`` next to this file.
"""
