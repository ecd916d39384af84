// Helpers shared by the SDK test files (not a test file itself: Node's runner takes *.test.mjs).

import assert from 'node:assert/strict'

export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/** Polls `predicate` every 20 ms until it is truthy; rejects after `ms` with `what()`. */
export async function waitFor(predicate, ms, what) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await predicate()
    if (value) return value
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? await what() : what}`)
    }
    await sleep(20)
  }
}

/** Header values reach subscribers as strings, whatever JSON type they were published with. */
export function assertHeadersAreStrings(headers) {
  assert.equal(typeof headers, 'object')
  assert.notEqual(headers, null)
  for (const [key, value] of Object.entries(headers)) {
    assert.equal(typeof value, 'string', `header ${key} is delivered as a string, got ${JSON.stringify(value)}`)
  }
}
