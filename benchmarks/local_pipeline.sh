#!/usr/bin/env bash
# The full-pipeline local deploy, as tests/test_local_cloud.py's full-pipeline test
# runs it: a cloud of its own with the tests' timings (a training of 2 s, each status
# step 0.2 s), examples/full_pipeline.py deployed (DESTROY) and destroyed, the cloud
# stopped. Time it with benchmarks/local_timeline.py:
#
#   .venv/bin/python benchmarks/local_timeline.py -- benchmarks/local_pipeline.sh
#
# ROOT (default: this checkout) is the checkout measured: its examples/, and the
# cdk-cleanrooms-ml of ROOT/.venv is the one measured.
set -euo pipefail
ROOT="${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"
export PATH="$ROOT/node_modules/.bin:$ROOT/.venv/bin:$PATH" CDK_DISABLE_VERSION_CHECK=1
export CDK_CLEANROOMS_ML_CACHE="${CDK_CLEANROOMS_ML_CACHE:-$ROOT/.cache}" # MiniStack's venv
export CDK_CLEANROOMS_ML_LOCAL_DIR="$(mktemp -d)"
trap 'cdk-cleanrooms-ml local down >/dev/null; rm -rf "$CDK_CLEANROOMS_ML_LOCAL_DIR"' EXIT
cd "$ROOT"

cdk-cleanrooms-ml local up --training-seconds 2
emulator="$(cdk-cleanrooms-ml local status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["emulator_url"])')"
python3 - "$emulator" <<'PY'
import json, sys, urllib.request

timings = {"pending_seconds": 0.2, "training_seconds": 2, "transition_seconds": 0.2}
request = urllib.request.Request(f"{sys.argv[1]}/_emulator/timings", json.dumps(timings).encode())
urllib.request.urlopen(request, timeout=10).read()
PY
association="arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/0f3d2a1b-1234-4cde-8f00-0123456789ab/configured-model-algorithm-association/local"
args=(--app "python3 examples/full_pipeline.py" --stack CleanRoomsMLFullPipeline
  -c "configuredModelAlgorithmAssociationArn=$association" -c removalPolicy=destroy)
cdk-cleanrooms-ml local deploy "${args[@]}" --poll-seconds 1 "$@"
cdk-cleanrooms-ml local destroy "${args[@]}" --poll-seconds 1 "$@"
