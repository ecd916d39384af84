// herald's realtime namespace driven by socket.io-client 2 (npm alias `socket.io-client-v2`,
// socket.io-client@2.5.0, pinned in package.json): Engine.IO v3 and the socket.io v4 protocol,
// what the Backendless Swift SDK speaks. It connects the way that SDK does, with the app's
// namespace and its query (`apiKey`, `clientId`, `userToken`), then sends the Backendless events
// itself: `SUB_ON` for `PUB_SUB_CONNECT` and `PUB_SUB_MESSAGES` (one with a selector), and checks
// the `SUB_READY` and `SUB_RES` herald answers with messages published over REST.
//
// socket.io-client 2 puts its query in the CONNECT packet's namespace (`0/<app>?apiKey=…,`):
// herald's vendored socketioxide-parser-common drops it (vendor/socketioxide-parser-common/
// PATCHED.md); without that, every connection here is refused "Invalid namespace".
//
// Environment: HERALD_URL (for example http://127.0.0.1:18300), HERALD_APP_ID, HERALD_API_KEY.
// Run: `scripts/sdk-test --test-name-pattern=EIO3` (it starts herald and runs this file).

import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import io from 'socket.io-client-v2'

import { assertHeadersAreStrings, waitFor } from './support.mjs'

const SERVER_URL = (process.env.HERALD_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '')
const APP_ID = process.env.HERALD_APP_ID || 'herald-dev'
const API_KEY = process.env.HERALD_API_KEY || 'herald-dev-key'

// How long the realtime connection, a SUB_READY or a delivery may take before a test gives up.
const RT_CONNECT_MS = 10_000
const DELIVERY_MS = 5_000

const MESSAGE_ID = /^message:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/

// ---------------------------------------------------------------------------------------------
// helpers

/** `GET .../info`: the realtime URL the SDKs connect to. */
async function realtimeURL() {
  const response = await fetch(`${SERVER_URL}/${APP_ID}/${API_KEY}/info`)
  assert.equal(response.status, 200, 'GET .../info')
  const info = await response.json()
  assert.match(info.rtURL, /^https?:\/\/[^/]+$/, 'rtURL is scheme://host[:port] without a path')
  return info.rtURL
}

/** Every socket opened here, closed at the end so that node exits. */
const sockets = []

/**
 * A socket.io-client 2 socket on the app's namespace, as the Swift SDK opens it (served at the
 * HTTP path `/<app-id>/`, realtime/mod.rs). Each gets an Engine.IO session of its own
 * (`forceNew`), and gives up rather than reconnect. `events` logs what the socket receives;
 * `wire` the socket.io packets of the Engine.IO session, both ways, for the failure messages (a
 * CONNECT_ERROR for another namespace than the socket's never reaches its listeners).
 */
function openSocket({ transports, apiKey = API_KEY, rtURL }) {
  const socket = io(`${rtURL}/${APP_ID}`, {
    path: `/${APP_ID}/`,
    query: { apiKey, clientId: randomUUID(), userToken: 'null' },
    transports,
    forceNew: true,
    reconnection: false,
    timeout: RT_CONNECT_MS,
  })
  sockets.push(socket)
  const wire = []
  socket.io.engine.on('packetCreate', p => p.type === 'message' && wire.push(`sent ${p.data}`))
  socket.io.engine.on('packet', p => p.type === 'message' && wire.push(`received ${p.data}`))
  const events = []
  socket.on('connect', () => events.push({ event: 'connect' }))
  // A CONNECT_ERROR (socket.io v4 protocol ERROR packet) is an `error` event on the socket.
  socket.on('error', data => events.push({ event: 'error', data }))
  socket.on('connect_error', error => events.push({ event: 'connect_error', data: String(error) }))
  socket.on('connect_timeout', () => events.push({ event: 'connect_timeout' }))
  socket.on('disconnect', reason => events.push({ event: 'disconnect', data: reason }))
  socket.on('SUB_READY', data => events.push({ event: 'SUB_READY', data }))
  socket.on('SUB_RES', data => events.push({ event: 'SUB_RES', data }))
  return { socket, events, wire }
}

/** A CONNECT_ERROR (`4…`) the client received, whether or not it reached the socket. */
const refusal = ({ wire }) => wire.find(p => p.startsWith('received 4'))

/** What a failure message shows of a client. */
const describeClient = ({ events, wire }) => `events: ${JSON.stringify(events)}; socket.io packets: ${JSON.stringify(wire)}`

const FAILURES = new Set(['error', 'connect_error', 'connect_timeout', 'disconnect'])

/** Resolves once the socket is connected to the namespace; rejects on what socket.io reports. */
async function connected(client) {
  await waitFor(
    () => {
      const failure = client.events.find(e => FAILURES.has(e.event))
      if (failure || refusal(client)) {
        throw new Error(`the namespace connection failed (${describeClient(client)})`)
      }
      return client.socket.connected
    },
    RT_CONNECT_MS,
    () => `the connection to namespace /${APP_ID} (${describeClient(client)})`,
  )
}

/** Sends `SUB_ON` and waits for its `SUB_READY`; a `SUB_RES` error for the id fails. */
async function subscribe({ socket, events }, request) {
  socket.emit('SUB_ON', request)
  await waitFor(
    () => {
      const failure = events.find(e => e.event === 'SUB_RES' && e.data?.id === request.id && e.data?.error)
      if (failure) throw new Error(`SUB_ON ${JSON.stringify(request)} failed: ${JSON.stringify(failure.data)}`)
      return events.some(e => e.event === 'SUB_READY' && e.data?.id === request.id)
    },
    RT_CONNECT_MS,
    `SUB_READY for ${JSON.stringify(request)}`,
  )
}

/** The deliveries (`SUB_RES` data) of one subscription, in the order they came. */
const deliveries = (events, id) => events.filter(e => e.event === 'SUB_RES' && e.data?.id === id).map(e => e.data.data)

/** Publishes over REST; returns the message id. */
async function publish(channel, message, headers) {
  const response = await fetch(`${SERVER_URL}/${APP_ID}/${API_KEY}/messaging/${encodeURIComponent(channel)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, headers }),
  })
  const body = await response.json()
  assert.equal(response.status, 200, `publish: ${JSON.stringify(body)}`)
  assert.match(body.messageId, MESSAGE_ID)
  return body.messageId
}

// ---------------------------------------------------------------------------------------------

describe('EIO3: socket.io-client 2 (Engine.IO v3, the Swift SDK\'s client)', () => {
  after(() => {
    for (const socket of sockets) {
      socket.close()
      socket.io.close()
    }
  })

  const TRANSPORTS = [
    { name: 'polling, then the WebSocket upgrade (as the Swift SDK)', transports: ['polling', 'websocket'], final: 'websocket' },
    { name: 'WebSocket only', transports: ['websocket'], final: 'websocket' },
    { name: 'HTTP long-polling only', transports: ['polling'], final: 'polling' },
  ]

  for (const { name, transports, final } of TRANSPORTS) {
    test(`${name}: joins /<app-id>, a listener gets every message, a selector listener the matching ones`, async () => {
      const rtURL = await realtimeURL()
      const client = openSocket({ transports, rtURL })
      const { socket, events } = client
      await connected(client)
      // Engine.IO v3 is what this client speaks; herald must have accepted it.
      assert.equal(String(socket.io.engine.transport.query.EIO), '3')

      const channel = `eio3-${transports.join('-')}-${randomUUID()}`
      const joinId = randomUUID()
      await subscribe(client, { id: joinId, name: 'PUB_SUB_CONNECT', options: { channel } })
      const allId = randomUUID()
      const selectedId = randomUUID()
      socket.emit('SUB_ON', { id: allId, name: 'PUB_SUB_MESSAGES', options: { channel } })
      await subscribe(client, { id: selectedId, name: 'PUB_SUB_MESSAGES', options: { channel, selector: "kind = 'a'" } })
      await waitFor(() => events.some(e => e.event === 'SUB_READY' && e.data?.id === allId), RT_CONNECT_MS,
        `SUB_READY for the plain PUB_SUB_MESSAGES (${allId})`)

      const sends = [
        { message: { n: 1, text: 'first' }, headers: { kind: 'a' } },
        { message: 'second', headers: { kind: 'b' } },
        { message: [3, 'third'], headers: { kind: 'a' } },
      ]
      const ids = []
      for (const { message, headers } of sends) ids.push(await publish(channel, message, headers))

      await waitFor(
        () => deliveries(events, allId).length >= 3 && deliveries(events, selectedId).length >= 2,
        DELIVERY_MS,
        () => `deliveries: ${deliveries(events, allId).length} of 3 to the plain subscription, ` +
          `${deliveries(events, selectedId).length} of 2 to the selector one (events: ${JSON.stringify(events)})`,
      )
      // A marker both subscriptions match: messages of one channel arrive in publish order, so
      // an unwanted delivery would come before it.
      const marker = { message: 'marker', headers: { kind: 'a' } }
      ids.push(await publish(channel, marker.message, marker.headers))
      sends.push(marker)
      await waitFor(
        () => deliveries(events, allId).length >= 4 && deliveries(events, selectedId).length >= 3,
        DELIVERY_MS,
        () => `the marker (events: ${JSON.stringify(events)})`,
      )

      const all = deliveries(events, allId)
      const selected = deliveries(events, selectedId)
      assert.deepEqual(all.map(d => d.messageId), ids, 'the plain subscription gets every message, in order')
      assert.deepEqual(selected.map(d => d.messageId), [ids[0], ids[2], ids[3]],
        "the kind = 'a' subscription gets the matching messages, in order")
      all.forEach((delivered, i) => {
        assert.deepEqual(delivered.message, sends[i].message)
        assertHeadersAreStrings(delivered.headers)
        assert.equal(delivered.headers.kind, sends[i].headers.kind)
      })
      selected.forEach((delivered, i) => {
        assert.deepEqual(delivered.message, sends[[0, 2, 3][i]].message)
        assertHeadersAreStrings(delivered.headers)
        assert.equal(delivered.headers.kind, 'a')
      })
      // The PUB_SUB_CONNECT subscription got its "connected" answer, and no message.
      assert.deepEqual(deliveries(events, joinId), ['connected'])
      assert.equal(events.filter(e => FAILURES.has(e.event)).length, 0, `no failure: ${JSON.stringify(events)}`)

      // The transport the client ends on: polling stays polling, the others are on the WebSocket.
      await waitFor(() => socket.io.engine.transport.name === final, RT_CONNECT_MS,
        () => `the ${final} transport (on ${socket.io.engine.transport.name})`)
      socket.close()
    })
  }

  for (const transports of [['polling'], ['websocket']]) {
    test(`a wrong apiKey is refused (${transports[0]})`, async () => {
      const rtURL = await realtimeURL()
      const client = openSocket({ transports, apiKey: 'wrong-key', rtURL })
      const error = await waitFor(
        () => {
          const error = client.events.find(e => e.event === 'error' || e.event === 'connect_error')
          // A CONNECT_ERROR the socket was not given (its namespace is not the socket's).
          if (!error && refusal(client)) throw new Error(`a refusal the socket missed (${describeClient(client)})`)
          return error
        },
        RT_CONNECT_MS,
        () => `an error for the wrong apiKey (${describeClient(client)})`,
      )
      // socket.io-client 2 surfaces the CONNECT_ERROR packet (`4/<app>,{"message":…}`) as an
      // `error` event with its data.
      assert.equal(error.event, 'error', JSON.stringify(client.events))
      const message = error.data?.message
      assert.equal(typeof message, 'string', `the error data has a message: ${JSON.stringify(error.data)}`)
      assert.doesNotMatch(message, /Invalid namespace/, 'refused for its key, not for its namespace')
      assert.match(message, /api ?key/i, `the error names the API key: ${message}`)
      assert.equal(client.socket.connected, false)
      assert.ok(!client.events.some(e => e.event === 'connect'), JSON.stringify(client.events))
      client.socket.close()
    })
  }
})
