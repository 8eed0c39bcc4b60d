// Preloaded (NODE_OPTIONS=--require) into the aws-cdk CLI when it deploys to the
// local cloud: its `waitFor` helper sleeps 5 s between polls of DescribeStacks and
// DescribeChangeSet, so a stack that is done waits up to 5 s more to be seen done
// (against a cloud on this machine, a poll costs about a millisecond). Only a
// 5-second sleep that `waitFor` itself asks for is shortened; any other timer, and
// any CLI whose helper is named otherwise, is left as it is.
'use strict';

const pollMs = Number(process.env.CDK_CLEANROOMS_ML_CLI_POLL_MS || 250);
const cliSleepMs = 5000;
const original = globalThis.setTimeout;

function setTimeout(callback, ms, ...args) {
  if (ms === cliSleepMs && /\bat (async )?waitFor \(/.test(new Error().stack || '')) {
    ms = pollMs;
  }
  return original.call(this, callback, ms, ...args);
}

Object.assign(setTimeout, original); // keeps util.promisify.custom and the like
globalThis.setTimeout = setTimeout;
