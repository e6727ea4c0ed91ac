'use strict'
// The performance monitor through the JS API: the snapshot validates against the
// repository's JSON Schema, Prometheus text, reset, application operations, alert
// callbacks (and a subscription never keeps the process alive), suggestions and
// the two optimize calls.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const Ajv2020 = require('ajv/dist/2020')
const { harness, rejection, NS } = require('./helpers')

const SCHEMA_FILE = path.join(__dirname, '..', '..', '..', 'schemas', 'metrics_snapshot.schema.json')
const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8'))
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema)

function assertValid(snapshot) {
  const ok = validate(snapshot)
  assert.ok(ok, JSON.stringify(validate.errors, null, 2))
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('monitor', async (t) => {
  const h = await harness()
  t.after(() => h.close())
  const x = h.exec

  await t.test('metrics() validates against the JSON Schema and counts calls', async () => {
    await x.resetMetrics()
    for (let i = 0; i < 20; i++) await x.setLinkedPod(NS, `m${i}`, 'chat', 1, -1)
    await x.getLinkedPod(NS, 'm1', 'chat')
    await x.batchGetLinkedPod(NS, ['m1', 'm2', 'm3'], 'chat')
    await rejection(x.getLinkedPod(NS, '', 'chat'))
    const snapshot = await x.metrics()
    assertValid(snapshot)
    assert.equal(JSON.parse(JSON.stringify(snapshot)).schema_version, 1, 'plain JSON, no BigInt')
    const op = (name) => snapshot.operations.find((o) => o.name === name)
    assert.equal(op('set_linked_pod').count, 20)
    assert.equal(op('get_linked_pod').count, 2)
    assert.equal(op('get_linked_pod').errors, 1)
    assert.equal(op('get_linked_pod').errors_by_code.INVALID_ARGUMENT, 1)
    assert.equal(op('batch_get_linked_pod').batch_items, 3)
    assert.ok(op('set_linked_pod').latency_ms.p50 > 0)
    assert.ok(snapshot.scripts.evalsha_calls >= 20)
    assert.ok(Math.abs(snapshot.taken_at_ms - Date.now()) < 60_000)
  })

  await t.test('metricsPrometheus() and resetMetrics()', async () => {
    const text = await x.metricsPrometheus()
    assert.equal(typeof text, 'string')
    assert.match(text, /^# (HELP|TYPE) /m)
    assert.match(text, /set_linked_pod/)
    const last = await x.resetMetrics()
    assertValid(last)
    assert.ok(last.operations.find((o) => o.name === 'set_linked_pod').count >= 20)
    const fresh = await x.metrics()
    assert.equal(fresh.operations.find((o) => o.name === 'set_linked_pod').count, 0)
  })

  await t.test('recordOperation() adds application operations', async () => {
    x.recordOperation('app.checkout', 12.5, true)
    x.recordOperation('app.checkout', 3, false)
    const snapshot = await x.metrics()
    assertValid(snapshot)
    const op = snapshot.operations.find((o) => o.name === 'app.checkout')
    assert.equal(op.kind, 'application')
    assert.equal(op.count, 2)
    assert.equal(op.errors, 1)
    for (const bad of [() => x.recordOperation(1, 2, true), () => x.recordOperation('a', -1, true),
      () => x.recordOperation('a', 1, 'yes'), () => x.recordOperation('a', NaN, true)]) {
      assert.throws(bad, (e) => e.code === 'INVALID_ARGUMENT' && e.operation === 'record_operation')
    }
  })

  await t.test('setAlertThreshold() refuses unknown metrics and options', () => {
    assert.throws(() => x.setAlertThreshold('nope', 1), (e) => e.code === 'INVALID_ARGUMENT')
    assert.throws(() => x.setAlertThreshold('get_linked_pod.p99_ms', 'x'), (e) => e.code === 'INVALID_ARGUMENT')
    assert.throws(() => x.setAlertThreshold('get_linked_pod.p99_ms', 1, { bogus: 1 }), (e) => e.code === 'INVALID_ARGUMENT')
    assert.throws(() => x.setAlertThreshold('get_linked_pod.p99_ms', 1, { direction: 'sideways' }), (e) => e.code === 'INVALID_ARGUMENT')
    x.setAlertThreshold('pool.wait_ms_p99', 1000, { sustainMs: 0, hysteresis: 0.2, direction: 'above' })
    // Errors name the option and the type it needs, never the value given.
    assert.throws(() => x.setAlertThreshold('get_linked_pod.p99_ms', 1, { direction: 's3cret' }),
      (e) => e.code === 'INVALID_ARGUMENT' && e.message.includes('direction') && !e.message.includes('s3cret'))
    assert.throws(() => x.setAlertThreshold('get_linked_pod.p99_ms', 1, { sustainMs: -1 }),
      (e) => e.code === 'INVALID_ARGUMENT' && e.message.includes('sustainMs'))
  })

  await t.test('removeAlert() removes a rule once', () => {
    x.setAlertThreshold('get_pod_loads.p99_ms', 1000)
    assert.equal(x.removeAlert('get_pod_loads.p99_ms'), true)
    assert.equal(x.removeAlert('get_pod_loads.p99_ms'), false)
    assert.throws(() => x.removeAlert(42), (e) => e.code === 'INVALID_ARGUMENT' && e.operation === 'remove_alert')
  })

  await t.test('alert events reach the callback', async () => {
    const events = []
    const unsubscribe = x.onAlert((event) => events.push(event))
    x.setAlertThreshold('get_link_service.errors', 0.5)
    await h.raw.hset(`sf:{${NS}:lk:bad}`, 'chat', 'not-a-pod')
    for (let i = 0; i < 5; i++) await rejection(x.getLinkService(NS, 'bad'))
    for (let i = 0; i < 60 && !events.some((e) => e.state === 'firing'); i++) await sleep(100)
    const firing = events.find((e) => e.state === 'firing')
    assert.ok(firing, `no firing event: ${JSON.stringify(events)}`)
    assert.equal(firing.metric, 'get_link_service.errors')
    assert.equal(firing.rule, 'get_link_service.errors')
    assert.ok(firing.value >= 5)
    assert.equal(firing.threshold, 0.5)
    assert.equal(typeof firing.message, 'string')
    assert.ok(Math.abs(firing.at_ms - Date.now()) < 60_000)
    const snapshot = await x.metrics()
    assertValid(snapshot)
    assert.ok(snapshot.alerts.some((a) => a.metric === 'get_link_service.errors'))
    assert.equal(unsubscribe(), true)
    assert.equal(unsubscribe(), false)
  })

  await t.test('suggestions and the optimize calls', async () => {
    const suggestions = await x.optimizationSuggestions()
    assert.ok(Array.isArray(suggestions))
    for (const s of suggestions) {
      assert.equal(typeof s.id, 'string')
      assert.ok(['info', 'warning', 'critical'].includes(s.severity))
      assert.equal(typeof s.message, 'string')
      assert.equal(typeof s.evidence, 'object')
    }
    await h.raw.call('SCRIPT', 'FLUSH')
    const scripts = await x.optimizeLuaScripts()
    assert.equal(scripts.changed, true)
    assert.ok(scripts.missing_before.length > 0)
    assert.equal(scripts.loaded, scripts.scripts)
    const again = await x.optimizeLuaScripts()
    assert.equal(again.changed, false)
    const pool = await x.optimizeConnectionPool()
    assert.equal(typeof pool.changed, 'boolean')
    assert.equal(typeof pool.reason, 'string')
    assert.ok(pool.connections_after >= 1)
    assert.equal(await x.setLinkedPod(NS, 'after-optimize', 'chat', 2, -1), null)
  })

  await t.test('monitor calls after close() are CLOSED', async () => {
    const c = await require('..').Executor.connect({ url: h.server.url })
    c.close()
    for (const p of [c.metrics(), c.metricsPrometheus(), c.resetMetrics(), c.optimizationSuggestions(),
      c.optimizeConnectionPool(), c.optimizeLuaScripts()]) {
      assert.equal((await rejection(p)).code, 'CLOSED')
    }
    assert.throws(() => c.recordOperation('a', 1, true), (e) => e.code === 'CLOSED')
    assert.throws(() => c.setAlertThreshold('*.error_rate', 0.5), (e) => e.code === 'CLOSED')
    assert.throws(() => c.onAlert(() => {}), (e) => e.code === 'CLOSED')
  })

  await t.test('an alert subscription does not keep the process alive', () => {
    const script = `
      const { Executor } = require(${JSON.stringify(path.join(__dirname, '..'))})
      Executor.connect({ url: ${JSON.stringify(h.server.url)} }).then(async (x) => {
        x.onAlert(() => {})
        x.setAlertThreshold('*.error_rate', 0.5)
        await x.getLinkedPod('t', 'u', 'chat')
        console.log('done')
      })`
    const started = Date.now()
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 })
    assert.equal(out.trim(), 'done')
    assert.ok(Date.now() - started < 15_000)
  })

  await t.test('the typings name every property of the schema', () => {
    const dts = fs.readFileSync(path.join(__dirname, '..', 'index.d.ts'), 'utf8')
    const names = new Set()
    const walk = (node) => {
      if (Array.isArray(node)) return node.forEach(walk)
      if (node && typeof node === 'object') {
        if (node.properties) Object.keys(node.properties).forEach((k) => names.add(k))
        Object.values(node).forEach(walk)
      }
    }
    walk(schema)
    for (const name of names) assert.match(dts, new RegExp(`\\b${name}\\b`), name)
  })
})
