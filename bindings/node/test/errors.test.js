'use strict'
// Errors are classes: StatefulRedisError and one subclass per code, with
// `instanceof`, `name`, the properties of every error (code, retryable,
// operation, cause) and a stack that shows this file's frame, for rejections
// (settled from the event loop) as well as for synchronous throws.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const { sr, harness, rejection, NS } = require('./helpers')

const THIS_FILE = path.basename(__filename)

/** `e` is an instance of `cls` (and of the root and of Error), named after it. */
function assertClass(e, cls, code) {
  assert.ok(e instanceof cls, `${e && e.name}: ${e && e.message}`)
  assert.ok(e instanceof sr.StatefulRedisError)
  assert.ok(e instanceof Error)
  assert.equal(e.name, cls.name)
  assert.equal(e.code, code)
  assert.equal(cls.code, code)
  assert.equal(typeof e.retryable, 'boolean')
  assert.equal(typeof e.operation, 'string')
  assert.ok(e.stack.startsWith(`${cls.name}: ${e.message}`), e.stack)
  assert.ok(e.stack.includes(THIS_FILE), `the caller's frame is in the stack:\n${e.stack}`)
  assert.equal(String(e), `${cls.name}: ${e.message}`)
}

test('every code has its class', () => {
  const names = {
    INVALID_ARGUMENT: 'InvalidArgumentError', CONFIG: 'ConfigError', CONNECTION: 'ConnectionError',
    TIMEOUT: 'TimeoutError', AUTH: 'AuthError', SCRIPT: 'ScriptError', CLUSTER: 'ClusterError',
    BUSY: 'BusyError', DATA: 'DataError', CLOSED: 'ClosedError', INTERNAL: 'InternalError',
  }
  assert.deepEqual(Object.keys(names), Object.values(sr.ErrorCode))
  for (const [code, name] of Object.entries(names)) {
    const cls = sr[name]
    assert.equal(cls.name, name)
    assert.equal(cls.code, code)
    assert.equal(Object.getPrototypeOf(cls), sr.StatefulRedisError)
    const e = new cls('made by hand', { retryable: true, operation: 'get_linked_pod' })
    assert.equal(e.code, code)
    assert.equal(e.retryable, true)
    assert.equal(e.operation, 'get_linked_pod')
    assert.equal(e.message, 'made by hand')
    assert.ok(e.stack.includes(THIS_FILE))
  }
  const root = new sr.StatefulRedisError('root', { code: 'DATA' })
  assert.equal(root.name, 'StatefulRedisError')
  assert.equal(root.code, 'DATA')
  assert.equal(root.retryable, false)
  assert.equal(root.operation, '')
})

test('errors of calls are instances of their class', async (t) => {
  const h = await harness()
  t.after(() => h.close())
  const x = h.exec

  await t.test('INVALID_ARGUMENT, rejected: message and properties as before', async () => {
    const e = await rejection(x.getLinkedPod(NS, '', 'chat'))
    assertClass(e, sr.InvalidArgumentError, 'INVALID_ARGUMENT')
    assert.equal(e.operation, 'get_linked_pod')
    assert.equal(e.retryable, false)
    assert.deepEqual(Object.keys(e).sort(), ['code', 'operation', 'retryable'])
  })

  await t.test('INVALID_ARGUMENT, thrown by a synchronous method', () => {
    let thrown
    try {
      x.setAlertThreshold('no_such_metric', 1)
    } catch (e) {
      thrown = e
    }
    assertClass(thrown, sr.InvalidArgumentError, 'INVALID_ARGUMENT')
    assert.equal(thrown.operation, 'set_alert_threshold')
  })

  await t.test('DATA', async () => {
    await h.raw.set(`sf:{${NS}:lk:bad}chat`, 'not-a-pod')
    const e = await rejection(x.getLinkedPod(NS, 'bad', 'chat'))
    assertClass(e, sr.DataError, 'DATA')
    assert.match(e.message, /lk:bad/)
  })

  await t.test('CONFIG and CONNECTION from connect', async () => {
    assertClass(await rejection(sr.Executor.connect({ url: h.server.url, bogus: 1 })), sr.ConfigError, 'CONFIG')
    const port = h.server.port === 1 ? 2 : 1
    const e = await rejection(sr.Executor.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 }))
    assertClass(e, sr.ConnectionError, 'CONNECTION')
    assert.equal(e.retryable, true)
  })

  await t.test('TIMEOUT, with its cause kept', async () => {
    const slow = await sr.Executor.connect({ url: h.server.url, commandTimeoutMs: 100 })
    const sleeping = h.raw.call('DEBUG', 'SLEEP', '0.5')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const e = await rejection(slow.getLinkedPod(NS, 'u', 'chat'))
    await sleeping
    assertClass(e, sr.TimeoutError, 'TIMEOUT')
    slow.close()
  })

  await t.test('CLOSED', async () => {
    const c = await sr.Executor.connect({ url: h.server.url })
    c.close()
    const e = await rejection(c.setLinkedPod(NS, 'u', 'chat', 1, -1))
    assertClass(e, sr.ClosedError, 'CLOSED')
    assert.throws(() => c.recordOperation('app.op', 1, true), sr.ClosedError)
  })

  await t.test('a CONNECTION cause is an Error with the client message', async () => {
    const e = await rejection(sr.Executor.connect({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 500 }))
    if (e.cause !== undefined) assert.ok(e.cause instanceof Error)
  })
})

test('import gives the same classes', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import sr, { StatefulRedisError, TimeoutError, setLogger } from 'stateful-redis'
    import { createRequire } from 'node:module'
    const cjs = createRequire(import.meta.url)('stateful-redis')
    if (TimeoutError !== cjs.TimeoutError || StatefulRedisError !== sr.StatefulRedisError) throw new Error('different classes')
    console.log(JSON.stringify([new TimeoutError('x') instanceof StatefulRedisError, typeof setLogger]))
  `], { cwd: path.join(__dirname, '..'), encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), [true, 'function'])
})
