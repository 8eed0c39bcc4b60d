// Runs the CDK Provider framework's own runtime (the asset a synthesized stack
// deploys: framework.js, cfn-response.js, outbound.js ...) with its AWS calls
// replaced, so tests can see what it answers CloudFormation.
//
//   node framework_harness.js <runtime folder>  < scenario.json
//
// scenario: {"handler": "onEvent" | "isComplete" | "onTimeout", "event": {...},
//            "replies": [<user function reply>, ...], "startExecution": "ok" | "fail"}
// A reply is {"payload": {...}} or {"error": {"errorMessage": ..., "errorType": ...,
// "stackTrace": [...]}} (how the Lambda service reports a Python handler's exception).
// Prints {"responses": [<body PUT to the ResponseURL>], "invocations": [...],
//         "executions": [...], "error": <what the handler threw, if anything>}.
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

const runtime = path.resolve(process.argv[2]);
const scenario = JSON.parse(fs.readFileSync(0, "utf8"));

// The Lambda runtime provides the AWS SDK; the stubbed calls below never use it.
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request.startsWith("@aws-sdk/")) return request;
  return resolve.call(this, request, ...rest);
};
for (const name of ["@aws-sdk/client-lambda", "@aws-sdk/client-sfn"]) {
  const fake = new Module(name);
  fake.loaded = true;
  fake.exports = {};
  Module._cache[name] = fake;
}

process.env.USER_ON_EVENT_FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:OnEvent";
process.env.USER_IS_COMPLETE_FUNCTION_ARN =
  "arn:aws:lambda:us-east-1:111122223333:function:IsComplete";
process.env.WAITER_STATE_MACHINE_ARN = "arn:aws:states:us-east-1:111122223333:stateMachine:W";

const outbound = require(path.join(runtime, "outbound.js"));
const responses = [];
const invocations = [];
const executions = [];
outbound.invokeFunction = async (request) => {
  invocations.push(JSON.parse(request.Payload));
  const reply = scenario.replies.shift();
  if (reply.error) {
    return { FunctionError: "Unhandled", Payload: Buffer.from(JSON.stringify(reply.error)) };
  }
  return { Payload: Buffer.from(JSON.stringify(reply.payload)) };
};
outbound.startExecution = async (request) => {
  if (scenario.startExecution === "fail") {
    const error = new Error("Rate exceeded");
    error.name = "ThrottlingException";
    throw error;
  }
  executions.push(JSON.parse(request.input));
  return {};
};
outbound.httpRequest = async (options, body) => {
  responses.push({ bytes: Buffer.byteLength(body, "utf8"), body: JSON.parse(body) });
};
console.log = () => {}; // the framework's own log lines

const framework = require(path.join(runtime, "framework.js"));
framework[scenario.handler](scenario.event)
  .then(() => ({}))
  .catch((error) => ({ error: String(error && error.message) }))
  .then((outcome) => {
    process.stdout.write(JSON.stringify({ responses, invocations, executions, ...outcome }));
  });
