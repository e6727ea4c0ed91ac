'use strict'
// The OpenTelemetry mapping (otel.js): two executors told apart by their
// metricsLabels, read through the SDK (a MetricProducer on a reader exporting to
// an InMemoryMetricExporter, and observable instruments) after real calls
// (successes, a validation error, a wrong-typed stored value), checked against
// the executors' own snapshot.
const test = require('node:test')
const assert = require('node:assert/strict')
const {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} = require('@opentelemetry/sdk-metrics')
const { harness, rejection, NS } = require('./helpers')

const sr = require(process.env.STATEFUL_REDIS_NODE_PACKAGE || '..')

/** A reader exporting to memory on demand (forceFlush), with `producers`. */
function memoryReader(producers = []) {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // The interval is never reached in a test: every export is a forceFlush.
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: 3_600_000,
    metricProducers: producers,
  })
  const provider = new MeterProvider({ readers: [reader] })
  return {
    provider,
    /** Metric name → the SDK's MetricData of the scope stateful-redis, from a fresh export. */
    async collect() {
      exporter.reset()
      await reader.forceFlush()
      const found = new Map()
      for (const rm of exporter.getMetrics()) {
        for (const sm of rm.scopeMetrics) {
          if (sm.scope.name !== 'stateful-redis') continue
          for (const m of sm.metrics) found.set(m.descriptor.name, m)
        }
      }
      return found
    },
  }
}

const has = (point, attrs) => Object.entries(attrs).every(([k, v]) => point.attributes[k] === v)
const points = (metric, attrs) => metric.dataPoints.filter((p) => has(p, attrs))
function one(metric, attrs) {
  const found = points(metric, attrs)
  assert.equal(found.length, 1, `${metric.descriptor.name} ${JSON.stringify(attrs)}: ${JSON.stringify(found.map((p) => p.attributes))}`)
  return found[0]
}
const op = (name) => ({ 'db.operation.name': name })

test('OpenTelemetry', async (t) => {
  const h = await harness({ metricsLabels: { executor: 'orders' } })
  const billing = await sr.Executor.connect({ url: h.server.url, metricsLabels: { executor: 'billing' } })
  t.after(async () => {
    billing.close()
    await h.close()
  })
  const orders = h.exec
  for (let i = 0; i < 3; i++) await orders.setLinkedPod(NS, `u${i}`, 'chat', i, -1)
  assert.equal((await rejection(orders.getLinkedPod('', 'u1', 'chat'))).code, 'INVALID_ARGUMENT')
  // A stored value of the wrong type: the core reports DATA.
  await h.raw.set(`sf:{${NS}:lk:u9}chat`, 'garbage')
  assert.equal((await rejection(orders.getLinkedPod(NS, 'u9', 'chat'))).code, 'DATA')
  await billing.getLinkedPod(NS, 'u1', 'chat')
  await billing.getLinkedPod(NS, 'u2', 'chat')
  const base = {
    'db.system.name': 'redis',
    'server.address': '127.0.0.1',
    'server.port': h.server.port,
    'db.namespace': '0',
  }

  await t.test('a MetricProducer gives the real histogram', async () => {
    const { provider, collect } = memoryReader([new sr.StatefulRedisMetricProducer([orders, billing])])
    try {
      const metrics = await collect()
      const duration = metrics.get('db.client.operation.duration')
      assert.equal(duration.dataPointType, DataPointType.HISTOGRAM)
      assert.equal(duration.aggregationTemporality, AggregationTemporality.CUMULATIVE)
      assert.equal(duration.descriptor.unit, 's')
      const ok = one(duration, { ...base, executor: 'orders', ...op('set_linked_pod') })
      assert.deepEqual(Object.keys(ok.attributes).sort(), [...Object.keys(base), 'db.operation.name', 'executor'].sort())
      assert.equal(ok.value.count, 3)
      const failed = points(duration, { executor: 'orders', ...op('get_linked_pod') })
      assert.deepEqual(failed.map((p) => [p.attributes['error.type'], p.value.count]).sort(), [
        ['DATA', 1],
        ['INVALID_ARGUMENT', 1],
      ])
      assert.equal(one(duration, { executor: 'billing', ...op('get_linked_pod') }).value.count, 2)

      // Against each executor's own snapshot: counts, errors by code, sums.
      for (const [executor, name] of [[orders, 'orders'], [billing, 'billing']]) {
        const snapshot = await executor.metrics()
        const core = await executor.otelMetrics()
        for (const o of snapshot.operations) {
          const mine = points(duration, { executor: name, ...op(o.name) })
          assert.equal(mine.reduce((n, p) => n + p.value.count, 0), o.count, o.name)
          const byCode = Object.fromEntries(mine.filter((p) => 'error.type' in p.attributes).map((p) => [p.attributes['error.type'], p.value.count]))
          assert.deepEqual(byCode, o.errors_by_code, o.name)
          for (const p of mine) {
            assert.equal(p.value.buckets.counts.reduce((a, b) => a + b, 0), p.value.count)
            assert.equal(p.value.buckets.counts.length, p.value.buckets.boundaries.length + 1)
          }
        }
        // The start time is the executor's period start.
        const start = one(duration, { executor: name, ...op('get_linked_pod'), ...(name === 'billing' ? {} : { 'error.type': 'DATA' }) }).startTime
        assert.deepEqual(start, [core.start_time.seconds, core.start_time.nanos])
      }
      // The buckets are exact: the fastest and slowest calls (exact in the
      // snapshot) are in the buckets that first and last grow.
      const setLinked = (await orders.metrics()).operations.find((o) => o.name === 'set_linked_pod')
      assert.ok(Math.abs(ok.value.sum - (setLinked.latency_ms.mean * 3) / 1e3) <= 1e-9 * ok.value.sum)
      const { boundaries, counts } = ok.value.buckets
      const first = counts.findIndex((n) => n > 0)
      const last = counts.length - 1 - [...counts].reverse().findIndex((n) => n > 0)
      for (const [i, seconds] of [[first, setLinked.latency_ms.min / 1e3], [last, setLinked.latency_ms.max / 1e3]]) {
        const lower = i > 0 ? boundaries[i - 1] : 0
        const upper = i < boundaries.length ? boundaries[i] : Infinity
        assert.ok(lower < seconds && seconds <= upper, `${seconds} s in bucket ${i} (${lower}, ${upper}]`)
      }

      // The pool, as the snapshot has it.
      const connections = metrics.get('db.client.connection.count')
      assert.equal(connections.dataPointType, DataPointType.SUM)
      assert.equal(connections.isMonotonic, false)
      const pool = (await orders.metrics()).pool
      const idle = one(connections, { executor: 'orders', 'db.client.connection.state': 'idle' })
      const used = one(connections, { executor: 'orders', 'db.client.connection.state': 'used' })
      assert.equal(idle.value + used.value, pool.connections)
      assert.ok(pool.connections >= 1)
      assert.equal(idle.attributes['db.client.connection.pool.name'], `127.0.0.1:${h.server.port}/0`)
      assert.ok(one(metrics.get('db.client.connection.max'), { executor: 'orders' }).value >= pool.connections)
      assert.equal(one(metrics.get('stateful_redis.client.reconnects'), { executor: 'orders' }).value, 0)
    } finally {
      await provider.shutdown()
    }
  })

  await t.test('observable instruments give the histogram as counters', async () => {
    const { provider, collect } = memoryReader()
    try {
      const unregister = await sr.observeMetrics([orders, billing], { meterProvider: provider })
      let metrics = await collect()
      const count = metrics.get('stateful_redis.client.operation.count')
      assert.equal(count.dataPointType, DataPointType.SUM)
      assert.equal(count.isMonotonic, true)
      assert.equal(count.descriptor.unit, '{operation}')
      assert.equal(one(count, { ...base, executor: 'orders', ...op('set_linked_pod') }).value, 3)
      assert.equal(one(count, { executor: 'orders', ...op('get_linked_pod'), 'error.type': 'DATA' }).value, 1)
      assert.equal(one(count, { executor: 'billing', ...op('get_linked_pod') }).value, 2)
      const core = (await orders.otelMetrics()).metrics.find((m) => m.name === 'db.client.operation.duration')
      const corePoint = core.points.find((p) => p.attributes['db.operation.name'] === 'set_linked_pod' && !('error.type' in p.attributes))
      const sum = one(metrics.get('stateful_redis.client.operation.duration.sum'), { executor: 'orders', ...op('set_linked_pod') })
      assert.equal(metrics.get('stateful_redis.client.operation.duration.sum').descriptor.unit, 's')
      assert.ok(Math.abs(sum.value - corePoint.sum) <= 1e-12 * corePoint.sum)
      const buckets = points(metrics.get('stateful_redis.client.operation.duration.bucket'), { executor: 'orders', ...op('set_linked_pod') })
        .map((p) => [Number(p.attributes.le.replace('+Inf', 'Infinity')), p.value])
        .sort((a, b) => a[0] - b[0])
      assert.deepEqual(buckets.map(([le]) => le), [...core.boundaries, Infinity])
      let cumulative = 0
      assert.deepEqual(buckets.map(([, v]) => v), corePoint.bucket_counts.map((n) => (cumulative += n)))
      // After unregister the executors are not read any more: a new call does not
      // show (the SDK's cumulative storage keeps repeating the last values).
      unregister()
      await orders.setLinkedPod(NS, 'u5', 'chat', 1, -1)
      assert.equal((await orders.metrics()).operations.find((o) => o.name === 'set_linked_pod').count, 4)
      metrics = await collect()
      const after = metrics.get('stateful_redis.client.operation.count')
      assert.ok(!after || points(after, { executor: 'orders', ...op('set_linked_pod') }).every((p) => p.value === 3))
    } finally {
      await provider.shutdown()
    }
  })

  await t.test('same labels refused; a closed executor is left out; a reset restarts', async () => {
    const twin = await sr.Executor.connect({ url: h.server.url, metricsLabels: { executor: 'orders' } })
    try {
      await assert.rejects(sr.observeMetrics([orders, twin]), /same metricsLabels/)
      await assert.rejects(new sr.StatefulRedisMetricProducer([orders, twin]).collect(), /same metricsLabels/)
      assert.throws(() => new sr.StatefulRedisMetricProducer([]), TypeError)
    } finally {
      twin.close()
    }
    const extra = await sr.Executor.connect({ url: h.server.url, metricsLabels: { executor: 'extra' } })
    await extra.setLinkedPod(NS, 'u1', 'chat', 1, -1)
    const producer = new sr.StatefulRedisMetricProducer([orders, extra])
    const before = await producer.collect()
    const executors = (r) => new Set(r.resourceMetrics.scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'db.client.operation.duration').dataPoints.map((p) => p.attributes.executor))
    assert.deepEqual(executors(before), new Set(['orders', 'extra']))
    const startBefore = (await extra.otelMetrics()).start_time
    await extra.resetMetrics()
    const startAfter = (await extra.otelMetrics()).start_time
    assert.ok(startAfter.seconds > startBefore.seconds || (startAfter.seconds === startBefore.seconds && startAfter.nanos > startBefore.nanos))
    assert.deepEqual(executors(await producer.collect()), new Set(['orders']))
    extra.close()
    assert.deepEqual(executors(await producer.collect()), new Set(['orders']))
  })
})
