'use strict'
// The core's log events reach setLogger's function: an alert firing and a
// connection lost and re-established, with level, target, message and fields;
// the level filters; a logger never keeps the process alive; DEBUG=stateful-redis
// prints to stderr. Events are awaited with a generous deadline.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { sr, harness, NS } = require('./helpers')
const { debugEnabled } = require('../logging.js')

const PACKAGE = path.join(__dirname, '..')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** The first event that `matches`, waiting up to 20 s (calling `poke` meanwhile). */
async function waitFor(events, what, matches, poke = async () => {}) {
  const deadline = Date.now() + 20_000
  for (;;) {
    const found = events.find(matches)
    if (found) return found
    assert.ok(Date.now() < deadline, `no ${what} was logged: ${JSON.stringify(events.map((e) => e.message))}`)
    await poke()
    await sleep(20)
  }
}

test('log events reach the logger', async (t) => {
  const events = []
  sr.setLogger((e) => events.push(e), 'info')
  const h = await harness()
  t.after(async () => {
    sr.setLogger(null)
    await h.close()
  })
  const x = h.exec

  await t.test('an alert firing is a warn event of the monitor', async () => {
    await x.setLinkedPod(NS, 'u1', 'chat', 1, -1)
    x.setAlertThreshold('set_linked_pod.p99_ms', 0.000001)
    // The executor's tick evaluates the rules once a second; calls keep the
    // window from being empty.
    const e = await waitFor(events, 'alert', (e) => e.message.startsWith('alert firing'),
      () => x.setLinkedPod(NS, 'u1', 'chat', 1, -1))
    assert.equal(e.level, 'warn')
    assert.equal(e.target, 'stateful_redis::monitor')
    assert.equal(e.fields.metric, 'set_linked_pod.p99_ms')
    assert.equal(typeof e.fields.value, 'number')
    assert.match(e.message, / metric=set_linked_pod\.p99_ms /)
  })

  await t.test('a reconnect is logged', async () => {
    await h.raw.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
    // A read retries by itself after the loss.
    assert.equal(await x.getLinkedPod(NS, 'u1', 'chat'), 1)
    const lost = await waitFor(events, 'loss', (e) => e.message.startsWith('connection lost'))
    assert.equal(lost.level, 'warn')
    assert.equal(typeof lost.fields.error, 'string')
    const back = await waitFor(events, 'reconnect', (e) => e.message.startsWith('connection re-established'))
    assert.equal(back.level, 'info')
    assert.equal(back.target, 'stateful_redis::connection')
    assert.ok(!events.some((e) => e.level === 'debug' || e.level === 'trace'), 'below the level')
  })

  await t.test('bad arguments are INVALID_ARGUMENT', () => {
    assert.throws(() => sr.setLogger(() => {}, 'loud'), sr.InvalidArgumentError)
    assert.throws(() => sr.setLogger(42), sr.InvalidArgumentError)
  })
})

test('a logger never keeps the process alive', () => {
  execFileSync(process.execPath, ['-e', `require('.').setLogger(() => {}, 'trace')`],
    { cwd: PACKAGE, timeout: 60_000 })
})

test('DEBUG names stateful-redis as the debug package does', () => {
  for (const on of ['stateful-redis', '*', 'stateful-*', 'app,stateful-redis', 'x stateful-redis']) {
    assert.equal(debugEnabled(on), true, on)
  }
  for (const off of [undefined, '', 'app', 'stateful-redis-x', '*,-stateful-redis']) {
    assert.equal(debugEnabled(off), false, String(off))
  }
})

test('DEBUG=stateful-redis prints the events to stderr', async (t) => {
  const h = await harness()
  t.after(() => h.close())
  // The child exits once its alert callback ran: the log event was queued before it.
  const script = `
    const sr = require('.')
    ;(async () => {
      const x = await sr.Executor.connect({ url: ${JSON.stringify(h.server.url)} })
      x.setAlertThreshold('set_linked_pod.p99_ms', 0.000001)
      let fired = false
      x.onAlert((e) => { if (e.state === 'firing') fired = true })
      const deadline = Date.now() + 20000
      while (!fired && Date.now() < deadline) {
        await x.setLinkedPod('app:eu:logic', 'd1', 'chat', 1, -1)
        await new Promise((r) => setTimeout(r, 20))
      }
      await new Promise((r) => setTimeout(r, 200))
      x.close()
    })()
  `
  const { spawnSync } = require('node:child_process')
  const child = spawnSync(process.execPath, ['-e', script], {
    cwd: PACKAGE, env: { ...process.env, DEBUG: 'stateful-redis' }, encoding: 'utf8', timeout: 60_000,
  })
  assert.equal(child.status, 0, child.stderr)
  assert.match(child.stderr, /^stateful-redis WARN stateful_redis::monitor alert firing: .* metric=set_linked_pod\.p99_ms /m)
})
