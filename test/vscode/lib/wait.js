// Polling helpers for tests that watch VS Code settle (tools appear, state changes).
'use strict';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with the first truthy value of `probe()`, polled every `interval` ms; rejects with
 * `what` and the last value seen once `timeout` ms have passed.
 */
async function waitFor(what, probe, { timeout = 30_000, interval = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout}ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    }
    await sleep(interval);
  }
}

module.exports = { sleep, waitFor };
