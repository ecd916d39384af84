// Runs in the page (another origin than herald's): each step uses the official SDK's browser build
// as an application would, and resolves to plain JSON for run.mjs, which asserts on it. A failure
// resolves to {error} rather than rejecting, so run.mjs can print what the SDK said.
/* global Backendless */
'use strict'

;(() => {
  const STEP_MS = 10000

  /** What the SDK gave: its error's code, message and HTTP status, or the value. */
  const describe = error => ({
    code: error && error.code,
    message: error && (error.message || String(error)),
    status: error && error.status,
  })

  function within(ms, what, promise) {
    let timer
    const timeout = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    })
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
  }

  /** An event to wait for: `done` resolves with the first value given to `notify`, or rejects after `ms`. */
  function until(what, ms) {
    let wake = () => {}
    const waiting = new Promise(resolve => { wake = resolve })
    return { notify: value => wake(value), done: within(ms, what, waiting) }
  }

  async function outcome(run) {
    try {
      return { value: await run() }
    } catch (error) {
      return { error: describe(error) }
    }
  }

  let config = null
  let app = null

  /** A separate SDK app instance of the same app, logged in with `token`. */
  function loggedIn(user, token) {
    const other = Backendless.initApp({ ...config, standalone: true })
    // SDK 8.0.0's setCurrentUserToken only replaces the token of a current user.
    other.UserService.setCurrentUser({ objectId: user })
    other.setCurrentUserToken(token)
    return other
  }

  /** Resolves once every listener of `type` on `channel` is ready (SUB_READY or a first SUB_RES). */
  async function ready(channel, type, count) {
    const deadline = Date.now() + STEP_MS
    for (;;) {
      const listeners = channel.subscriptions[type] || []
      if (listeners.length === count && listeners.every(l => l.subscription.isReady())) return
      if (Date.now() > deadline) throw new Error(`timed out waiting for SUB_READY of the ${type} listener`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }

  window.heraldTest = {
    init: async settings => outcome(async () => {
      config = settings
      app = Backendless.initApp(settings)
      const info = await within(STEP_MS, 'GET .../info', app.appInfoPromise())
      return { rtURL: info.rtURL, origin: location.origin }
    }),

    publish: (channel, message) => outcome(() =>
      within(STEP_MS, 'the publish', app.Messaging.publish(channel, message))),

    /** getMessageStatus until the message is published (or STEP_MS passes). */
    statusPublished: messageId => outcome(async () => {
      const deadline = Date.now() + STEP_MS
      for (;;) {
        const status = await within(STEP_MS, 'getMessageStatus', app.Messaging.getMessageStatus(messageId))
        if (status.status === 'published' || Date.now() > deadline) return status
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    }),

    scheduleAndCancel: channel => outcome(async () => {
      const published = await within(STEP_MS, 'the scheduled publish', app.Messaging.publish(
        channel, 'later', undefined, new Backendless.DeliveryOptions({ publishAt: Date.now() + 60000 })))
      const before = await within(STEP_MS, 'getMessageStatus', app.Messaging.getMessageStatus(published.messageId))
      const cancelled = await within(STEP_MS, 'cancel', app.Messaging.cancel(published.messageId))
      const after = await within(STEP_MS, 'getMessageStatus', app.Messaging.getMessageStatus(published.messageId))
      return { published, before, cancelled, after }
    }),

    publishAs: (user, token, channel, message) => outcome(() =>
      within(STEP_MS, 'the publish', loggedIn(user, token).Messaging.publish(channel, message))),

    /** Subscribes, adds a message and a command listener, publishes one and sends one. */
    realtime: channelName => outcome(async () => {
      const channel = app.Messaging.subscribe(channelName)
      const joined = until('the connect listener', STEP_MS)
      channel.addConnectListener(() => joined.notify(), error => joined.notify({ joinError: describe(error) }))
      const joinResult = await joined.done
      if (joinResult && joinResult.joinError) throw Object.assign(new Error('join refused'), joinResult.joinError)

      const messageArrived = until('the message', STEP_MS)
      const commandArrived = until('the command', STEP_MS)
      const errors = []
      channel.addMessageListener(message => messageArrived.notify(message), error => errors.push(describe(error)))
      channel.addCommandListener(command => commandArrived.notify(command), error => errors.push(describe(error)))
      await ready(channel, 'MESSAGE', 1)
      await ready(channel, 'COMMAND', 1)

      const published = await within(STEP_MS, 'the publish', channel.publish({ text: 'over realtime' },
        new Backendless.PublishOptions({ headers: { city: 'Tokyo' } })))
      const message = await messageArrived.done
      await within(STEP_MS, 'channel.send', channel.send('typing', { on: true }))
      const command = await commandArrived.done
      const socket = await app.RT.session.getSocket()
      const connectionId = socket.ioSocket.id
      channel.removeAllListeners()
      channel.leave()
      return { published, message, command, connectionId, errors }
    }),

    close: () => { if (app) app.resetRT(); return true },
  }
})()
