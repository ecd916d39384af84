// herald's security (user tokens and channel permissions) driven by the official Backendless JS
// SDK, on the secured app scripts/sdk-test configures beside sdk-app.
//
// Environment: HERALD_URL; HERALD_SECURE_APP_ID and HERALD_SECURE_API_KEY (the secured app);
// HERALD_BIN and HERALD_CONFIG (the herald binary and the configuration herald runs with: the
// tests mint their user tokens with `herald --config <file> token --app ... --user ... --role ...`).
// The app's permissions (scripts/lib.sh secured_app_toml): `news` open to everyone; on
// `orders.*` editors publish, subscribe, read statuses and cancel, viewers subscribe, and the user
// `mallory` does nothing whatever her roles; logged-in users send commands and watch presence
// everywhere.
//
// Each test uses SDK apps of its own (`initApp({..., standalone: true})`), one per user, and
// `orders.<uuid>` channels of its own.

import { describe, test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import Backendless from 'backendless'

import { connectionId, joinChannel, listenersReady, recorder, waitFor } from './support.mjs'

const SERVER_URL = (process.env.HERALD_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '')
const APP_ID = process.env.HERALD_SECURE_APP_ID
const API_KEY = process.env.HERALD_SECURE_API_KEY
const HERALD_BIN = process.env.HERALD_BIN
const HERALD_CONFIG = process.env.HERALD_CONFIG
const configured = Boolean(APP_ID && API_KEY && HERALD_BIN && HERALD_CONFIG)

const PUBLISH_DENIED = 'User does not have the permission to publish messages'
const DELIVERY_MS = 5_000

/**
 * This process's environment without its HERALD_* variables: herald reads every HERALD_* as a
 * setting (HERALD_URL, HERALD_APP_ID... are this test's, and herald refuses unknown ones).
 */
function heraldFreeEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HERALD_')))
}

/** A token of `user` with `roles`, minted by `herald token` with the app's secret. */
function mint(user, roles = []) {
  const args = ['--config', HERALD_CONFIG, 'token', '--app', APP_ID, '--user', user]
  for (const role of roles) args.push('--role', role)
  return execFileSync(HERALD_BIN, args, { encoding: 'utf8', env: heraldFreeEnv() }).trim()
}

/** An HS256 JWT signed with `secret` (a secret the app does not have, for the bad tokens). */
function hs256(claims, secret) {
  const part = value => Buffer.from(JSON.stringify(value)).toString('base64url')
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`
}

const apps = []

/** A new SDK app instance of the secured app: anonymous, or logged in as `user` with `token`. */
function client(user, token) {
  const app = Backendless.initApp({ appId: APP_ID, apiKey: API_KEY, serverURL: SERVER_URL, standalone: true })
  apps.push(app)
  if (user) logIn(app, user, token)
  return app
}

/**
 * Logs `app` in with a token from elsewhere (herald has no user accounts: an identity provider
 * or `herald token` issues them). SDK 8.0.0's `setCurrentUserToken(t)` only replaces the token of
 * a current user (src/users/index.js setCurrentUserToken), so the user is set first. On a live
 * realtime connection each sends SET_USER_TOKEN; before it, the handshake carries the token.
 */
function logIn(app, user, token) {
  app.UserService.setCurrentUser({ objectId: user })
  app.setCurrentUserToken(token)
  assert.equal(app.getCurrentUserToken(), token)
}

const ordersChannel = () => `orders.${randomUUID()}`

describe('Backendless JS SDK, an app with user tokens and permissions', { skip: !configured && 'HERALD_SECURE_APP_ID, HERALD_SECURE_API_KEY, HERALD_BIN and HERALD_CONFIG are unset (scripts/sdk-test sets them)' }, () => {
  const tokens = {}

  after(() => {
    for (const app of apps) app.resetRT()
  })

  test('herald token mints tokens the app accepts', () => {
    tokens.erin = mint('erin', ['editor'])
    tokens.victor = mint('victor', ['viewer'])
    tokens.mallory = mint('mallory', ['editor'])
    tokens.una = mint('una')
    for (const token of Object.values(tokens)) assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  })

  // ---------------------------------------------------------------------------------------- REST

  test('REST: a publish is granted, or refused with 5007, by the channel permissions', async () => {
    const orders = ordersChannel()
    const cases = [
      { who: 'anonymous', app: client(), channel: 'news', allowed: true },
      { who: 'anonymous', app: client(), channel: orders, allowed: false },
      { who: 'erin (editor)', app: client('erin', tokens.erin), channel: orders, allowed: true },
      { who: 'victor (viewer)', app: client('victor', tokens.victor), channel: orders, allowed: false },
      { who: 'mallory (editor, denied by name)', app: client('mallory', tokens.mallory), channel: orders, allowed: false },
      { who: 'erin (editor)', app: client('erin', tokens.erin), channel: 'private', allowed: false },
    ]
    for (const { who, app, channel, allowed } of cases) {
      const publish = app.Messaging.publish(channel, { from: who })
      if (allowed) {
        const answer = await publish
        assert.equal(answer.status, 'scheduled', `${who} on ${channel}`)
        assert.match(answer.messageId, /^message:/)
      } else {
        await assert.rejects(publish, error => {
          assert.equal(error.code, 5007, `${who} on ${channel}: ${JSON.stringify(error)}`)
          assert.equal(error.status, 403)
          assert.equal(error.message, PUBLISH_DENIED)
          return true
        })
      }
    }
  })

  test('REST: a user token that does not verify is refused with 3064, saying why', async () => {
    const badlySigned = hs256({ sub: 'erin', roles: ['editor'], exp: Math.floor(Date.now() / 1000) + 3600 },
      'a-secret-that-herald-does-not-have-32+')
    for (const [why, token] of [['badly signed', badlySigned], ['malformed', 'not-a-token']]) {
      const app = client('erin', token)
      await assert.rejects(app.Messaging.publish('news', 'x'), error => {
        assert.equal(error.code, 3064, `${why}: ${JSON.stringify(error)}`)
        assert.equal(error.status, 401)
        assert.match(error.message, new RegExp(why))
        return true
      })
    }
  })

  test('REST: statuses and cancels of orders.* are the editors\' (9043, 9044 for a viewer)', async () => {
    const erin = client('erin', tokens.erin)
    const victor = client('victor', tokens.victor)
    const published = await erin.Messaging.publish(ordersChannel(), 'later', undefined,
      new erin.DeliveryOptions({ publishAt: Date.now() + 60_000 }))
    await assert.rejects(victor.Messaging.getMessageStatus(published.messageId),
      error => error.code === 9043 && error.status === 403 && typeof error.message === 'string')
    await assert.rejects(victor.Messaging.cancel(published.messageId),
      error => error.code === 9044 && error.status === 403 && typeof error.message === 'string')
    assert.equal((await erin.Messaging.getMessageStatus(published.messageId)).status, 'scheduled')
    assert.deepEqual(await erin.Messaging.cancel(published.messageId),
      { status: 'cancelled', messageId: published.messageId })
  })

  // ------------------------------------------------------------------------------------ realtime

  test('realtime: a command carries its sender\'s user id', async () => {
    const name = ordersChannel()
    const erin = client('erin', tokens.erin)
    const victor = client('victor', tokens.victor)
    const listening = await joinChannel(erin, name)
    const got = recorder()
    listening.addCommandListener(got.callback, got.onError)
    await listenersReady(listening, 'COMMAND', 1)

    const sending = await joinChannel(victor, name)
    await sending.send('typing', { on: true })
    await waitFor(() => got.received.length >= 1 || got.errors.length, DELIVERY_MS, 'the command')
    assert.deepEqual(got.errors, [])
    const [{ message: command }] = got.received
    const sender = await connectionId(victor)
    assert.equal(command.type, 'typing')
    assert.deepEqual(command.data, { on: true })
    assert.equal(command.connectionId, sender)
    assert.equal(command.userId, 'victor')
    assert.deepEqual(command.userInfo, { connectionId: sender, userId: 'victor' })
  })

  test('realtime: presence lists and announces members with their user ids', async () => {
    const name = ordersChannel()
    const erin = client('erin', tokens.erin)
    const victor = client('victor', tokens.victor)
    const channel = await joinChannel(erin, name)
    const own = await connectionId(erin)
    const got = recorder()
    channel.addUserStatusListener(got.callback, got.onError)
    await waitFor(() => got.received.length >= 1 || got.errors.length, DELIVERY_MS, 'the LISTING')
    assert.deepEqual(got.errors, [])
    assert.deepEqual(got.received[0].message, { status: 'LISTING', data: [{ connectionId: own, userId: 'erin' }] })

    await joinChannel(victor, name)
    const theirs = await connectionId(victor)
    const connected = () => got.received.map(r => r.message)
      .find(m => m.status === 'CONNECTED' && m.data[0].connectionId === theirs)
    await waitFor(connected, DELIVERY_MS, 'CONNECTED of victor')
    assert.deepEqual(connected(), { status: 'CONNECTED', data: [{ connectionId: theirs, userId: 'victor' }] })
  })

  test('realtime: setCurrentUserToken on a live connection logs it in: presence hears USERUPDATE with the user id', async () => {
    // `news` is open to anonymous callers, presence included.
    const erin = client('erin', tokens.erin)
    const watching = await joinChannel(erin, 'news')
    const got = recorder()
    watching.addUserStatusListener(got.callback, got.onError)
    await waitFor(() => got.received.length >= 1 || got.errors.length, DELIVERY_MS, 'the LISTING')
    assert.deepEqual(got.errors, [])

    const someone = client()
    await joinChannel(someone, 'news')
    const theirs = await connectionId(someone)
    const of = status => () => got.received.map(r => r.message)
      .find(m => m.status === status && m.data[0].connectionId === theirs)
    await waitFor(of('CONNECTED'), DELIVERY_MS, 'CONNECTED of the anonymous connection')
    assert.deepEqual(of('CONNECTED')().data, [{ connectionId: theirs, userId: null }])

    logIn(someone, 'una', tokens.una)
    const updates = () => got.received.map(r => r.message)
      .filter(m => m.status === 'USERUPDATE' && m.data[0].connectionId === theirs)
    await waitFor(() => updates().some(m => m.data[0].userId === 'una'), DELIVERY_MS,
      () => `USERUPDATE of una after SET_USER_TOKEN (updates so far: ${JSON.stringify(updates())})`)
    assert.deepEqual(updates().at(-1).data, [{ connectionId: theirs, userId: 'una' }])
    assert.deepEqual(got.errors, [])
  })

  test('realtime: joining without the subscribe grant is refused (9040) at the connect listener\'s error callback', async () => {
    const name = ordersChannel()
    for (const [who, app] of [['anonymous', client()], ['mallory', client('mallory', tokens.mallory)]]) {
      const channel = app.Messaging.subscribe(name)
      let connected = false
      let refusal = null
      channel.addConnectListener(() => { connected = true }, error => { refusal = error })
      await waitFor(() => {
        if (connected) throw new Error(`${who} joined ${name}, which only editors and viewers may`)
        return refusal
      }, DELIVERY_MS, `the refusal of ${who}'s join`)
      assert.equal(refusal.code, 9040, JSON.stringify(refusal))
      assert.match(refusal.message, /permission to subscribe/)
      assert.equal(channel.isJoined(), false)
    }
  })

  test('realtime: a message listener whose user loses the grant gets an error, and no message after it', async () => {
    const name = ordersChannel()
    const erin = client('erin', tokens.erin)
    const victor = client('victor', tokens.victor)
    // erin's listener is the witness: once it has a message, victor's was offered it too.
    const witnessChannel = await joinChannel(erin, name)
    const witness = recorder()
    witnessChannel.addMessageListener(witness.callback, witness.onError)
    await listenersReady(witnessChannel, 'MESSAGE', 1)
    const channel = await joinChannel(victor, name)
    const got = recorder()
    channel.addMessageListener(got.callback, got.onError)
    await listenersReady(channel, 'MESSAGE', 1)

    const first = await erin.Messaging.publish(name, 'while granted')
    await waitFor(() => got.received.length >= 1 || got.errors.length, DELIVERY_MS, 'the message while granted')
    assert.deepEqual(got.errors, [])
    assert.deepEqual(got.received.map(r => r.message.messageId), [first.messageId])

    // The connection becomes mallory's, who may not read orders.*: herald ends the listener
    // (SUB_RES {id, error}), and the SDK hands the error to the listener's error callback.
    victor.setCurrentUserToken(tokens.mallory)
    await waitFor(() => got.errors.length >= 1, DELIVERY_MS, 'the error callback of the message listener')
    assert.equal(got.errors[0].code, 9040, JSON.stringify(got.errors[0]))
    assert.match(got.errors[0].message, /permission to subscribe/)

    const second = await erin.Messaging.publish(name, 'after the grant is gone')
    await waitFor(() => witness.received.some(r => r.message.messageId === second.messageId),
      DELIVERY_MS, 'the witness receiving the message published after the refusal')
    assert.deepEqual(got.received.map(r => r.message.messageId), [first.messageId])
    assert.equal(got.errors.length, 1)
  })
})
