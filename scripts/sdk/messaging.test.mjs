// herald driven by the official Backendless JS SDK (npm `backendless`, pinned in package.json).
//
// Environment: HERALD_URL (for example http://127.0.0.1:18300), HERALD_APP_ID, HERALD_API_KEY.
// Run: `cd scripts/sdk && node --test --test-timeout=60000` (scripts/sdk-test starts herald and
// does that). Every test runs twice: with the app id and API key in the path
// (`initApp({appId, apiKey, serverURL})`, root `<url>/<app>/<key>`) and in domain mode
// (`initApp({domain})`, root `<url>/api`, app id and key learnt from `GET /api/info`).
// Each test publishes to a channel of its own, so no test sees another's messages.
//
// The expectations come from /work/shared/reference/backendless-js-sdk-wire.md (what the SDK
// sends and reads) and backendless-messaging.md §4 (what real Backendless delivers), plus the
// error codes herald documents in its README.

import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import Backendless from 'backendless'

import { assertHeadersAreStrings, connectionId, listenersReady, recorder, waitFor } from './support.mjs'

const SERVER_URL = (process.env.HERALD_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '')
const APP_ID = process.env.HERALD_APP_ID || 'herald-dev'
const API_KEY = process.env.HERALD_API_KEY || 'herald-dev-key'

const MESSAGE_ID = /^message:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/
const CANCEL_FAILED = 'Message has already been canceled or does not exist.'

// How long the realtime connection may take before a test gives up, and how many failed
// Socket.IO handshakes in a row mean it will not come (the SDK itself retries forever).
const RT_CONNECT_MS = 10_000
const RT_MAX_CONNECT_ERRORS = 3
// How long a published message may take to reach a listener.
const DELIVERY_MS = 5_000

const MODES = [
  {
    name: 'app id and API key in the path',
    init: () => Backendless.initApp({ appId: APP_ID, apiKey: API_KEY, serverURL: SERVER_URL }),
    domain: false,
  },
  {
    name: 'custom domain (/api)',
    init: () => Backendless.initApp({ domain: SERVER_URL, standalone: true }),
    domain: true,
  },
]

// ---------------------------------------------------------------------------------------------
// helpers

const channelName = mode => `sdk-${mode.domain ? 'domain' : 'path'}-${randomUUID()}`

/** Connect errors the SDK's realtime client reported, per RT instance (resetRT makes a new one). */
const rtErrors = new WeakMap()

function watchRT(app) {
  const rt = app.RT
  if (!rtErrors.has(rt)) {
    const errors = []
    rtErrors.set(rt, errors)
    rt.addConnectErrorEventListener(error => errors.push(String(error)))
  }
  return rtErrors.get(rt)
}

/**
 * Why the realtime connection did not come: the SDK's connect errors, and what herald answers to
 * the Engine.IO v4 polling handshake the SDK sends (`GET <rtURL>/<appId>/?EIO=4&transport=polling`).
 */
async function rtDiagnosis(app, errors) {
  const parts = [`SDK connect errors: ${errors.length ? JSON.stringify(errors.slice(-3)) : 'none'}`]
  try {
    const info = await app.appInfoPromise()
    const appId = app.appId || info.appId
    const url = `${info.rtURL}/${appId}/?apiKey=${encodeURIComponent(API_KEY)}` +
      `&clientId=diagnosis&userToken=null&EIO=4&transport=polling`
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) })
      const body = (await response.text()).slice(0, 200)
      parts.push(`handshake GET ${url} answered ${response.status}: ${JSON.stringify(body)}`)
    } catch (error) {
      parts.push(`handshake GET ${url} failed: ${error.cause?.code || error.message}`)
    }
  } catch (error) {
    parts.push(`GET .../info failed: ${error.message}`)
  }
  return parts.join('; ')
}

/** `Messaging.subscribe(name)`, resolved once the channel's connect listener fired. */
async function joinChannel(app, name) {
  const rtErrorLog = watchRT(app)
  const before = rtErrorLog.length
  const errors = () => rtErrorLog.slice(before) // the connect errors since this join began
  const channel = app.Messaging.subscribe(name)
  let connected = false
  let joinError = null
  channel.addConnectListener(() => { connected = true }, error => { joinError = error })
  try {
    await waitFor(
      () => {
        if (joinError) throw new Error(`joining ${name} failed: ${JSON.stringify(joinError)}`)
        if (errors().length >= RT_MAX_CONNECT_ERRORS) {
          throw new Error(`the realtime connection failed ${errors().length} times`)
        }
        return connected
      },
      RT_CONNECT_MS,
      `the connect listener of channel ${name}`,
    )
  } catch (error) {
    error.message += `\n  ${await rtDiagnosis(app, errors())}`
    throw error
  }
  return channel
}

// ---------------------------------------------------------------------------------------------

for (const mode of MODES) {
  describe(`Backendless JS SDK, ${mode.name}`, () => {
    let app

    before(() => {
      app = mode.init()
    })

    after(() => {
      app.resetRT()
    })

    // -------------------------------------------------------------------------------------- REST

    test('initApp: GET .../info names the realtime URL (and, in domain mode, the app)', async () => {
      const info = await app.appInfoPromise()
      assert.equal(typeof info.rtURL, 'string')
      assert.match(info.rtURL, /^https?:\/\/[^/]+$/, 'rtURL is scheme://host[:port] without a path')
      if (mode.domain) {
        assert.equal(info.appId, APP_ID)
        assert.equal(info.apiKey, API_KEY)
      }
    })

    test('publish with every option, status, cancel, and a second cancel (5040)', async () => {
      const now = Date.now()
      const publishOptions = new app.PublishOptions({
        publisherId: 'sdk-publisher',
        headers: { city: 'Tokyo', foo: 20, flag: true },
      })
      const deliveryOptions = new app.DeliveryOptions({
        publishAt: now + 60_000,
        repeatEvery: 5,
        repeatExpiresAt: now + 3_600_000,
      })
      const published = await app.Messaging.publish(
        channelName(mode), { text: 'every option', n: [1, 2] }, publishOptions, deliveryOptions,
      )
      assert.equal(published.status, 'scheduled')
      assert.match(published.messageId, MESSAGE_ID)
      assert.equal(published.errorMessage, null)

      const status = await app.Messaging.getMessageStatus(published.messageId)
      assert.equal(status.messageId, published.messageId)
      assert.equal(status.status, 'scheduled')
      assert.equal(status.errorMessage, null)

      const cancelled = await app.Messaging.cancel(published.messageId)
      assert.deepEqual(cancelled, { status: 'cancelled', messageId: published.messageId })

      const after = await app.Messaging.getMessageStatus(published.messageId)
      assert.equal(after.status, 'cancelled')
      assert.equal(after.messageId, published.messageId)

      await assert.rejects(app.Messaging.cancel(published.messageId), {
        code: 5040,
        status: 400,
        message: CANCEL_FAILED,
      })
    })

    test('a delayed one-shot message: scheduled, cancelled', async () => {
      const published = await app.Messaging.publish(
        channelName(mode), 'later', undefined, new app.DeliveryOptions({ publishAt: Date.now() + 60_000 }),
      )
      assert.equal(published.status, 'scheduled')
      assert.match(published.messageId, MESSAGE_ID)
      assert.equal((await app.Messaging.getMessageStatus(published.messageId)).status, 'scheduled')
      assert.deepEqual(await app.Messaging.cancel(published.messageId),
        { status: 'cancelled', messageId: published.messageId })
    })

    test('an immediate publish becomes published; it cannot be cancelled (5040)', async () => {
      const published = await app.Messaging.publish(
        channelName(mode), { text: 'now' }, new app.PublishOptions({ publisherId: 'me' }),
      )
      assert.deepEqual(Object.keys(published).sort(), ['errorMessage', 'messageId', 'status'])
      assert.equal(published.status, 'scheduled')
      assert.match(published.messageId, MESSAGE_ID)
      assert.equal(published.errorMessage, null)

      const status = await waitFor(async () => {
        const s = await app.Messaging.getMessageStatus(published.messageId)
        return s.status === 'published' && s
      }, DELIVERY_MS, 'status "published"')
      assert.equal(status.messageId, published.messageId)
      assert.equal(status.errorMessage, null)

      await assert.rejects(app.Messaging.cancel(published.messageId), { code: 5040, message: CANCEL_FAILED })
    })

    test('the status of a message never seen is "unknown"; cancelling it is 5040', async () => {
      const messageId = `message:${randomUUID().toUpperCase()}`
      const status = await app.Messaging.getMessageStatus(messageId)
      assert.equal(status.status, 'unknown')
      assert.equal(status.messageId, messageId)
      await assert.rejects(app.Messaging.cancel(messageId), { code: 5040, message: CANCEL_FAILED })
    })

    test('publish refuses a publishAt long past (5030) and a repeatExpiresAt past (5003)', async () => {
      await assert.rejects(
        app.Messaging.publish(channelName(mode), 'x', undefined,
          new app.DeliveryOptions({ publishAt: Date.now() - 3_600_000 })),
        error => error.code === 5030 && error.status >= 400 && error.status < 500 &&
          typeof error.message === 'string',
      )
      await assert.rejects(
        app.Messaging.publish(channelName(mode), 'x', undefined,
          new app.DeliveryOptions({ repeatEvery: 1, repeatExpiresAt: Date.now() - 3_600_000 })),
        error => error.code === 5003 && error.status >= 400 && error.status < 500 &&
          typeof error.message === 'string',
      )
    })

    // ---------------------------------------------------------------------------------- realtime

    test('realtime: a listener gets every message, a "foo > 10" listener only the matching ones', async () => {
      const name = channelName(mode)
      const channel = await joinChannel(app, name)
      try {
        const all = recorder()
        const selected = recorder()
        channel.addMessageListener(all.callback, all.onError)
        channel.addMessageListener('foo > 10', selected.callback, selected.onError)
        await listenersReady(channel, 'MESSAGE', 2)

        // The JS SDK's own e2e set, then a marker that both listeners must get, last.
        const sends = [
          { message: { n: 1 }, options: new app.PublishOptions({ headers: { foo: 20 }, publisherId: 'sdk-pub' }) },
          { message: 'two', options: new app.PublishOptions({ headers: { foo: 10 } }) },
          { message: 3, options: new app.PublishOptions({ headers: { foo: 50 } }) },
          { message: [4], options: new app.PublishOptions({ headers: { foo: 5 } }) },
          { message: null, options: new app.PublishOptions({ headers: {} }) },
          { message: true, options: undefined },
          { message: 'marker', options: new app.PublishOptions({ headers: { foo: 99, flag: true, city: 'Tokyo' } }) },
        ]
        const ids = []
        const publishedAt = []
        for (const { message, options } of sends) {
          publishedAt.push(Date.now())
          const answer = await channel.publish(message, options)
          assert.match(answer.messageId, MESSAGE_ID)
          ids.push(answer.messageId)
        }

        await waitFor(
          () => all.received.length >= sends.length && selected.received.length >= 3,
          DELIVERY_MS,
          () => `deliveries: ${all.received.length} of ${sends.length} to the plain listener, ` +
            `${selected.received.length} of 3 to the selector listener`,
        )
        assert.deepEqual(all.errors, [])
        assert.deepEqual(selected.errors, [])
        // Messages of one channel arrive in publish order, so nothing unwanted can come after the
        // marker without having come before it.
        assert.deepEqual(all.received.map(r => r.message.messageId), ids)
        assert.deepEqual(selected.received.map(r => r.message.messageId), [ids[0], ids[2], ids[6]])

        // §4.6: the delivered object.
        all.received.forEach(({ message: delivered }, i) => {
          assert.equal(delivered.messageId, ids[i])
          assert.equal(typeof delivered.timestamp, 'number')
          assert.ok(delivered.timestamp >= publishedAt[i] - 1000 && delivered.timestamp <= Date.now() + 1000,
            `timestamp ${delivered.timestamp} is about when message ${i} was published (${publishedAt[i]})`)
          assert.deepEqual(delivered.message, sends[i].message)
          assert.equal(delivered.publisherId, i === 0 ? 'sdk-pub' : null)
          assert.equal(delivered.publishAt, 0)
          assert.equal(delivered.repeatEvery, 0)
          assert.equal(delivered.repeatExpiresAt, 0)
          for (const key of ['subtopic', 'pushSinglecast', 'pushBroadcast', 'publishPolicy', 'templateValues', 'query']) {
            assert.equal(delivered[key], null, `${key} is null`)
          }
          assertHeadersAreStrings(delivered.headers)
        })
        assert.equal(all.received[0].message.headers.foo, '20')
        assert.equal(all.received[1].message.headers.foo, '10')
        assert.equal(all.received[4].message.headers.foo, undefined)
        assert.equal(all.received[5].message.headers.foo, undefined)
        const marker = all.received[6].message.headers
        assert.equal(marker.foo, '99')
        assert.equal(marker.flag, 'true')
        assert.equal(marker.city, 'Tokyo')

        // The selector listener gets the same objects.
        assert.deepEqual(selected.received.map(r => r.message.headers.foo), ['20', '50', '99'])
        assert.deepEqual(selected.received.map(r => r.message.message), [{ n: 1 }, 3, 'marker'])
      } finally {
        channel.removeAllListeners()
        channel.leave()
      }
    })

    test('realtime: channel.send reaches the command listeners, with the sender', async () => {
      const name = channelName(mode)
      const channel = await joinChannel(app, name)
      try {
        const got = recorder()
        channel.addCommandListener(got.callback, got.onError)
        const commandListeners = () => channel.subscriptions.COMMAND || []
        await waitFor(() => commandListeners().length === 1 && commandListeners()[0].subscription.isReady(),
          RT_CONNECT_MS, 'SUB_READY for the command listener')

        await channel.send('typing', { on: true })
        await waitFor(() => got.received.length >= 1, DELIVERY_MS, 'the command')
        assert.deepEqual(got.errors, [])
        const [{ message: command }] = got.received
        assert.equal(command.type, 'typing')
        assert.deepEqual(command.data, { on: true })
        assert.equal(typeof command.connectionId, 'string')
        assert.ok(command.connectionId.length > 0)
        assert.deepEqual(command.userInfo, { connectionId: command.connectionId, userId: null })
      } finally {
        channel.removeAllListeners()
        channel.leave()
      }
    })

    test('realtime: a listener survives a forced reconnect, without duplicates', async () => {
      const name = channelName(mode)
      const channel = await joinChannel(app, name)
      try {
        const got = recorder()
        channel.addMessageListener(got.callback, got.onError)
        await listenersReady(channel, 'MESSAGE', 1)
        const before = await app.Messaging.publish(name, 'before')
        await waitFor(() => got.received.length >= 1, DELIVERY_MS, 'the message before the reconnect')

        // Drop the connection under the SDK, as a network failure would: it builds a new session
        // and re-sends SUB_ON for its subscriptions, with the same ids.
        let reconnected = false
        const onConnect = () => { reconnected = true }
        app.RT.addConnectEventListener(onConnect)
        const rtSocket = await app.RT.session.getSocket()
        rtSocket.ioSocket.io.engine.close()
        await waitFor(() => reconnected, RT_CONNECT_MS, 'the SDK reconnecting')
        app.RT.removeConnectEventListener(onConnect)

        // The re-sent SUB_ON has no answer the SDK exposes, and live messages published before
        // the server has it are not kept: publish until one arrives.
        const sent = [before.messageId]
        await waitFor(async () => {
          if (got.received.length > 1) return true
          sent.push((await app.Messaging.publish(name, `after ${sent.length}`)).messageId)
          return false
        }, RT_CONNECT_MS, 'a message after the reconnect')
        const after = (await app.Messaging.publish(name, 'last')).messageId
        sent.push(after)
        await waitFor(() => got.received.some(r => r.message.messageId === after), DELIVERY_MS,
          'the last message')
        assert.deepEqual(got.errors, [])
        const ids = got.received.map(r => r.message.messageId)
        assert.equal(new Set(ids).size, ids.length, `no message twice: ${ids}`)
        assert.ok(ids.every(id => sent.includes(id)))
      } finally {
        channel.removeAllListeners()
        channel.leave()
      }
    })

    test('realtime: addUserStatusListener lists the members, then sees another app join, leave, re-join and go', async () => {
      const name = channelName(mode)
      const channel = await joinChannel(app, name)
      // A second, independent SDK app: its own realtime connection, a second member.
      const other = Backendless.initApp({ appId: APP_ID, apiKey: API_KEY, serverURL: SERVER_URL, standalone: true })
      try {
        const own = await connectionId(app)
        const got = recorder()
        channel.addUserStatusListener(got.callback, got.onError)
        await waitFor(() => got.received.length >= 1, DELIVERY_MS, 'the LISTING')
        assert.deepEqual(got.received[0].message, { status: 'LISTING', data: [{ connectionId: own, userId: null }] })

        const otherChannel = await joinChannel(other, name)
        const theirs = await connectionId(other)
        assert.notEqual(theirs, own)
        const member = [{ connectionId: theirs, userId: null }]
        // The changes after the listing, each once (a CONNECTED of the listener itself may trail
        // the listing: it was on its way when the listing was read).
        const changes = () => got.received.slice(1).map(r => r.message)
          .filter(m => !(m.status === 'CONNECTED' && m.data[0].connectionId === own))
        const expect = async (status, count) => {
          await waitFor(() => changes().length >= count, DELIVERY_MS, `${status} of the other app`)
          assert.deepEqual(changes()[count - 1], { status, data: member })
        }
        await expect('CONNECTED', 1)
        otherChannel.leave()
        await expect('DISCONNECTED', 2)
        otherChannel.join()
        await expect('CONNECTED', 3)
        other.resetRT()
        await expect('DISCONNECTED', 4)
        assert.equal(changes().length, 4, JSON.stringify(changes()))
        assert.deepEqual(got.errors, [])
      } finally {
        other.resetRT()
        channel.removeAllListeners()
        channel.leave()
      }
    })

    test('realtime: after leave() a listener hears nothing until join()', async () => {
      const name = channelName(mode)
      const channel = await joinChannel(app, name)
      // A witness on a connection of its own receives every message: once it has one, the
      // channel that left was offered it too.
      const other = Backendless.initApp({ appId: APP_ID, apiKey: API_KEY, serverURL: SERVER_URL, standalone: true })
      let probeChannel = null
      try {
        const got = recorder()
        channel.addMessageListener(got.callback, got.onError)
        await listenersReady(channel, 'MESSAGE', 1)
        const witnessChannel = await joinChannel(other, name)
        const witness = recorder()
        witnessChannel.addMessageListener(witness.callback, witness.onError)
        await listenersReady(witnessChannel, 'MESSAGE', 1)

        const first = await app.Messaging.publish(name, 'joined')
        await waitFor(() => got.received.length >= 1, DELIVERY_MS, 'the message before leave()')

        // leave(): SUB_OFF of the join. It has no answer; a second connection's leave and join
        // answer nothing either, so the order is kept by the connection: a later SUB_ON is
        // handled after it.
        channel.leave()
        assert.equal(channel.isJoined(), false)
        const probe = recorder()
        probeChannel = app.Messaging.subscribe(`${name}-probe`)
        probeChannel.addConnectListener(probe.callback)
        await waitFor(() => probe.received.length >= 1, RT_CONNECT_MS, 'a join handled after the leave')
        const away = await app.Messaging.publish(name, 'while away')
        await waitFor(() => witness.received.some(r => r.message.messageId === away.messageId),
          DELIVERY_MS, 'the witness receiving the message published while away')

        channel.join()
        await waitFor(() => channel.isJoined(), RT_CONNECT_MS, 'the channel joined again')
        const back = await app.Messaging.publish(name, 'back')
        await waitFor(() => got.received.some(r => r.message.messageId === back.messageId),
          DELIVERY_MS, 'the message after join()')
        assert.deepEqual(got.received.map(r => r.message.messageId), [first.messageId, back.messageId])
        assert.deepEqual(got.errors, [])
      } finally {
        probeChannel?.leave()
        other.resetRT()
        channel.removeAllListeners()
        channel.leave()
      }
    })

    test('realtime: a delayed message arrives at its publishAt, not before', async () => {
      const name = channelName(mode)
      const channel = await joinChannel(app, name)
      try {
        const got = recorder()
        channel.addMessageListener(got.callback, got.onError)
        await listenersReady(channel, 'MESSAGE', 1)

        const publishAt = Date.now() + 1500
        const answer = await app.Messaging.publish(
          name, { text: 'delayed' }, undefined, new app.DeliveryOptions({ publishAt }),
        )
        assert.equal(answer.status, 'scheduled')

        await waitFor(() => got.received.length >= 1, publishAt + DELIVERY_MS - Date.now(),
          `the delayed message (publishAt ${publishAt}, now ${Date.now()})`)
        assert.deepEqual(got.errors, [])
        assert.equal(got.received.length, 1)
        const [{ at, message: delivered }] = got.received
        assert.ok(at >= publishAt, `received at ${at}, ${publishAt - at} ms before publishAt ${publishAt}`)
        assert.equal(delivered.messageId, answer.messageId)
        assert.deepEqual(delivered.message, { text: 'delayed' })
        assert.equal(typeof delivered.timestamp, 'number')
        assertHeadersAreStrings(delivered.headers)

        await waitFor(async () => (await app.Messaging.getMessageStatus(answer.messageId)).status === 'published',
          DELIVERY_MS, 'status "published" of the delayed message')
      } finally {
        channel.removeAllListeners()
        channel.leave()
      }
    })
  })
}
