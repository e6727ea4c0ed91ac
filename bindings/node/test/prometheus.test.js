'use strict'
// registerMetrics: two executors told apart by their metricsLabels in one
// prom-client registry, scraped with registry.metrics() and read back.
const test = require('node:test')
const assert = require('node:assert/strict')
const client = require('prom-client')
const { harness, rejection, NS } = require('./helpers')

const sr = require(process.env.STATEFUL_REDIS_NODE_PACKAGE || '..')

// A label value that needs escaping in the text format.
const BILLING = 'billing "eu"\\1'

/** The sample lines of a scrape: [{ name, labels, value }] (label values unescaped). */
function samples(text) {
  const out = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    assert.ok(m, line)
    const labels = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k] = v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c))
    }
    out.push({ name: m[1], labels, value: Number(m[3]) })
  }
  return out
}

test('registerMetrics', async (t) => {
  const h = await harness({ metricsLabels: { executor: 'orders' } })
  const billing = await sr.Executor.connect({
    url: h.server.url,
    metricsLabels: { executor: BILLING, regionName: 'eu' },
  })
  t.after(async () => {
    billing.close()
    await h.close()
  })
  const orders = h.exec
  for (let i = 0; i < 3; i++) await orders.setLinkedPod(NS, `u${i}`, 'chat', i, -1)
  await billing.getLinkedPod(NS, 'u1', 'chat')
  await rejection(billing.getLinkedPod('', 'u1', 'chat'))

  await t.test('two executors in one registry, with their labels', async () => {
    const registry = new client.Registry()
    const counter = new client.Counter({ name: 'app_requests_total', help: 'x', registers: [registry] })
    counter.inc()
    const unregister = await sr.registerMetrics([orders, billing], { registry })
    const text = await registry.metrics()
    const all = samples(text)
    const one = (name, labels) => {
      const found = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${JSON.stringify(found)}`)
      return found[0].value
    }
    const ops = 'stateful_redis_operations_total'
    assert.equal(one(ops, { operation: 'set_linked_pod', executor: 'orders' }), 3)
    assert.equal(one(ops, { operation: 'get_linked_pod', executor: 'orders' }), 0)
    assert.equal(one(ops, { operation: 'get_linked_pod', executor: BILLING, regionName: 'eu' }), 2)
    assert.equal(one('stateful_redis_operation_errors_total',
      { operation: 'get_linked_pod', code: 'INVALID_ARGUMENT', executor: BILLING }), 1)
    const hist = 'stateful_redis_operation_duration_seconds'
    assert.equal(one(`${hist}_count`, { operation: 'set_linked_pod', executor: 'orders' }), 3)
    assert.equal(one(`${hist}_bucket`, { operation: 'set_linked_pod', executor: 'orders', le: '+Inf' }), 3)
    const version = require('../package.json').version
    assert.equal(one('stateful_redis_build_info', { version, executor: 'orders' }), 1)
    assert.equal(one('app_requests_total', {}), 1, 'the registry keeps its own metrics')
    // Each family once (a valid exposition), the same families as the core's text.
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1])
    assert.equal(new Set(types).size, types.length, 'no family twice')
    const core = [...(await orders.metricsPrometheus()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`)
    const ours = [...text.matchAll(/^# TYPE (stateful_redis_\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`)
    assert.deepEqual(ours, core)
    for (const s of all.filter((s) => s.name.startsWith('stateful_redis_'))) {
      assert.ok(['orders', BILLING].includes(s.labels.executor), JSON.stringify(s))
    }
    // Registering the same families again in this registry is refused.
    await assert.rejects(sr.registerMetrics(orders, { registry }), /already registered/)
    unregister()
    assert.doesNotMatch(await registry.metrics(), /stateful_redis_/)
    assert.match(await registry.metrics(), /app_requests_total 1/)
  })

  await t.test('an OpenMetrics registry', async () => {
    const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE)
    const unregister = await sr.registerMetrics(orders, { registry })
    const text = await registry.metrics()
    assert.match(text, /^# TYPE stateful_redis_operations counter$/m)
    assert.match(text, /^stateful_redis_operations_total\{operation="set_linked_pod",executor="orders"\} 3$/m)
    assert.match(text, /^stateful_redis_operation_duration_seconds_count\{operation="set_linked_pod",executor="orders"\} 3$/m)
    assert.doesNotMatch(text, /_total_total/)
    unregister()
    assert.doesNotMatch(await registry.metrics(), /stateful_redis_/)
  })

  await t.test('a closed executor leaves the scrape', async () => {
    const registry = new client.Registry()
    const third = await sr.Executor.connect({ url: h.server.url, metricsLabels: { executor: 'third' } })
    await sr.registerMetrics([orders, third], { registry })
    assert.match(await registry.metrics(), /executor="third"/)
    third.close()
    const text = await registry.metrics()
    assert.doesNotMatch(text, /executor="third"/)
    assert.match(text, /executor="orders"/)
  })

  await t.test('executors with the same labels, and bad labels, are refused', async () => {
    const registry = new client.Registry()
    await assert.rejects(sr.registerMetrics([orders, orders], { registry }), /same metricsLabels/)
    await assert.rejects(sr.registerMetrics([], { registry }), TypeError)
    await assert.rejects(sr.registerMetrics(orders, { registry: {} }), TypeError)
    assert.equal(await registry.metrics(), '\n', 'nothing registered')
    const before = (await h.raw.call('CLIENT', 'LIST')).split('\n').length
    for (const labels of [{ le: 'x' }, { __name__: 'x' }, { 'a-b': 'x' }, { operation: 'x' }, { executor: '' }, { executor: 3 }]) {
      const err = await rejection(sr.Executor.connect({ url: h.server.url, metricsLabels: labels }))
      assert.ok(err instanceof sr.ConfigError, `${JSON.stringify(labels)}: ${err}`)
      assert.match(err.message, /metrics_labels/)
    }
    assert.equal((await h.raw.call('CLIENT', 'LIST')).split('\n').length, before, 'nothing connected')
  })
})
