// The official Backendless JS SDK's browser build against herald, in headless Chromium, from a
// page of another origin than herald's (run by scripts/browser-test, which starts herald).
//
// It serves page.html, page.js and the SDK's dist/backendless.js on 127.0.0.1 at a free port of
// its own, opens the page with puppeteer-core in the Chromium at $CHROMIUM, and has the page
// publish, read a status, cancel a scheduled message, be refused a publish under a user token
// (5007) and granted one under another, and receive a message and a command over realtime. Each
// result is asserted here; a summary line closes the run, and any failure exits 1 after the
// browser's console, its failed requests and its page errors.
//
// Environment: HERALD_URL, HERALD_APP_ID, HERALD_API_KEY (an app with the example permissions of
// scripts/lib.sh secured_app_toml and cors_origins ["*"]), HERALD_BIN and HERALD_CONFIG (to mint
// user tokens with `herald token`), CHROMIUM (the browser executable), SDK_BROWSER_BUILD (the
// path of backendless/dist/backendless.js).

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import puppeteer from 'puppeteer-core'

const here = dirname(fileURLToPath(import.meta.url))
const env = name => {
  const value = process.env[name]
  if (!value) {
    console.error(`error: ${name} is not set (scripts/browser-test sets it)`)
    process.exit(2)
  }
  return value
}
const SERVER_URL = env('HERALD_URL').replace(/\/+$/, '')
const APP_ID = env('HERALD_APP_ID')
const API_KEY = env('HERALD_API_KEY')
const HERALD_BIN = env('HERALD_BIN')
const HERALD_CONFIG = env('HERALD_CONFIG')
const CHROMIUM = env('CHROMIUM')
const SDK_BROWSER_BUILD = env('SDK_BROWSER_BUILD')

const PUBLISH_DENIED = 'User does not have the permission to publish messages'
const MESSAGE_ID = /^message:[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/
// Longer than any one step's own timeouts in page.js, so the page reports first.
const EVALUATE_MS = 30_000
const LAUNCH_MS = 120_000

/**
 * This process's environment without its HERALD_* variables: herald reads every HERALD_* as a
 * setting (HERALD_URL, HERALD_APP_ID... are this test's, and herald refuses unknown ones).
 */
function heraldFreeEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HERALD_')))
}

function mint(user, roles) {
  const args = ['--config', HERALD_CONFIG, 'token', '--app', APP_ID, '--user', user]
  for (const role of roles) args.push('--role', role)
  return execFileSync(HERALD_BIN, args, { encoding: 'utf8', env: heraldFreeEnv() }).trim()
}

/** The page's origin: a static server of its own, on a free port. */
function servePage() {
  const files = {
    '/': ['text/html; charset=utf-8', join(here, 'page.html')],
    '/page.js': ['text/javascript; charset=utf-8', join(here, 'page.js')],
    '/backendless.js': ['text/javascript; charset=utf-8', SDK_BROWSER_BUILD],
  }
  const server = createServer((req, res) => {
    const file = files[new URL(req.url, 'http://page').pathname]
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store' }).end(readFileSync(file[1]))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

const console_ = []
const checks = []

/** Runs one named check; a failure is recorded, and the run goes on to the next check. */
async function check(name, body) {
  try {
    await body()
    checks.push({ name, ok: true })
    console.log(`  ok      ${name}`)
  } catch (error) {
    checks.push({ name, ok: false, error })
    console.log(`  FAILED  ${name}\n          ${String(error.message).split('\n').join('\n          ')}`)
  }
}

/** Calls window.heraldTest[step](...args) in the page; the page resolves to {value} or {error}. */
async function step(page, name, ...args) {
  const run = page.evaluate((name, args) => window.heraldTest[name](...args), name, args)
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the page's ${name} did not answer in ${EVALUATE_MS} ms`)), EVALUATE_MS)
  })
  try {
    return await Promise.race([run, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The value of a step that must succeed. */
function value(result, what) {
  assert.ok(!result.error, `${what} failed: ${JSON.stringify(result.error)}`)
  return result.value
}

async function main() {
  const tokens = { erin: mint('erin', ['editor']), victor: mint('victor', ['viewer']) }
  const server = await servePage()
  const pageUrl = `http://127.0.0.1:${server.address().port}/`
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's start is slow on a loaded machine (puppeteer's default gives it 30 s).
    timeout: LAUNCH_MS,
    // --no-sandbox: CI and these machines run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  })
  try {
    const page = await browser.newPage()
    page.on('console', message => console_.push(`console.${message.type()}: ${message.text()}`))
    page.on('pageerror', error => console_.push(`page error: ${error.message}`))
    page.on('requestfailed', request =>
      console_.push(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`))
    page.on('response', response => {
      if (response.status() >= 400) {
        console_.push(`response ${response.status()}: ${response.request().method()} ${response.url()}`)
      }
    })
    await page.goto(pageUrl, { waitUntil: 'load', timeout: LAUNCH_MS })
    console.log(`page ${pageUrl} (origin ${new URL(pageUrl).origin}), herald ${SERVER_URL}`)
    assert.notEqual(new URL(pageUrl).origin, new URL(SERVER_URL).origin, 'the page is of another origin')

    await check('the SDK browser build loads and initApp reads GET .../info across origins', async () => {
      assert.equal(await page.evaluate(() => typeof window.Backendless?.initApp), 'function',
        'window.Backendless.initApp is a function')
      const info = value(await step(page, 'init', { serverURL: SERVER_URL, appId: APP_ID, apiKey: API_KEY }), 'initApp')
      assert.match(info.rtURL, /^https?:\/\/[^/]+$/)
    })

    let published = null
    await check('Messaging.publish', async () => {
      published = value(await step(page, 'publish', 'news', { text: 'from the browser' }), 'publish')
      assert.equal(published.status, 'scheduled')
      assert.match(published.messageId, MESSAGE_ID)
      assert.equal(published.errorMessage, null)
    })

    await check('Messaging.getMessageStatus of the published message', async () => {
      assert.ok(published, 'the publish before it succeeded')
      const status = value(await step(page, 'statusPublished', published.messageId), 'getMessageStatus')
      assert.deepEqual(status, { messageId: published.messageId, status: 'published', errorMessage: null })
    })

    await check('Messaging.cancel of a scheduled message', async () => {
      const { published: scheduled, before, cancelled, after } =
        value(await step(page, 'scheduleAndCancel', 'news'), 'publish, status and cancel')
      assert.equal(scheduled.status, 'scheduled')
      assert.equal(before.status, 'scheduled')
      assert.deepEqual(cancelled, { status: 'cancelled', messageId: scheduled.messageId })
      assert.equal(after.status, 'cancelled')
    })

    const orders = `orders.${randomUUID()}`
    await check('a user token (user-token header) of a viewer: publish refused with 5007', async () => {
      const result = await step(page, 'publishAs', 'victor', tokens.victor, orders, 'denied')
      assert.ok(result.error, `the publish was refused, not answered ${JSON.stringify(result.value)}`)
      assert.deepEqual(result.error, { code: 5007, message: PUBLISH_DENIED, status: 403 })
    })

    await check('a user token of an editor: publish granted', async () => {
      const answer = value(await step(page, 'publishAs', 'erin', tokens.erin, orders, 'granted'), 'the publish')
      assert.equal(answer.status, 'scheduled')
      assert.match(answer.messageId, MESSAGE_ID)
    })

    await check('realtime: Messaging.subscribe, addMessageListener and addCommandListener receive; send', async () => {
      const { published: sent, message, command, connectionId, errors } =
        value(await step(page, 'realtime', 'news'), 'the realtime step')
      assert.deepEqual(errors, [])
      assert.equal(message.messageId, sent.messageId)
      assert.deepEqual(message.message, { text: 'over realtime' })
      assert.equal(message.headers.city, 'Tokyo')
      assert.equal(command.type, 'typing')
      assert.deepEqual(command.data, { on: true })
      assert.equal(command.connectionId, connectionId)
    })

    await step(page, 'close').catch(() => {})
  } finally {
    await browser.close()
    server.close()
  }
}

let crashed = null
try {
  await main()
} catch (error) {
  crashed = error
  console.log(`  FAILED  the browser test could not run: ${error.stack || error}`)
}
const passed = checks.filter(c => c.ok).length
const failed = checks.length - passed + (crashed ? 1 : 0)
if (failed) {
  console.log('\n---- browser console, failed requests and page errors ----')
  for (const line of console_) console.log(line)
  if (!console_.length) console.log('(nothing)')
}
console.log(`\nbrowser: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
