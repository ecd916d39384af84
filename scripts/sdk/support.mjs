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

/** A listener recording what it receives, with the time it arrived, and the errors it is given. */
export function recorder() {
  const received = []
  const errors = []
  return {
    received,
    errors,
    callback: message => received.push({ at: Date.now(), message }),
    onError: error => errors.push(error),
  }
}

/**
 * `app.Messaging.subscribe(name)`, resolved once the channel's connect listener fired; rejects
 * with the error herald sent instead (`SUB_RES {id, error}` of the PUB_SUB_CONNECT), or after `ms`.
 */
export async function joinChannel(app, name, ms = 10_000) {
  const channel = app.Messaging.subscribe(name)
  let connected = false
  let joinError = null
  channel.addConnectListener(() => { connected = true }, error => { joinError = error })
  await waitFor(() => {
    if (joinError) throw new Error(`joining ${name} failed: ${JSON.stringify(joinError)}`)
    return connected
  }, ms, `the connect listener of channel ${name}`)
  return channel
}

/**
 * Waits until herald has accepted every listener of `type` (`MESSAGE`, `COMMAND`, `USER_STATUS`)
 * on `channel`: the SDK marks a subscription ready on SUB_READY or its first SUB_RES.
 * `channel.subscriptions` is the SDK's own listener store.
 */
export async function listenersReady(channel, type, count, ms = 10_000) {
  const listeners = () => channel.subscriptions[type] || []
  await waitFor(
    () => listeners().length === count && listeners().every(l => l.subscription.isReady()),
    ms,
    () => `SUB_READY for the ${type} listeners (${listeners().filter(l => l.subscription.isReady()).length}` +
      ` of ${listeners().length} ready, ${count} expected)`,
  )
}

/** The connection id herald gave the app's realtime connection (socket.io's socket id). */
export async function connectionId(app) {
  const socket = await app.RT.session.getSocket()
  const id = socket.ioSocket.id
  assert.equal(typeof id, 'string')
  return id
}
