'use strict'
// The metrics of stateful-redis executors through the OpenTelemetry SDK,
// following the database client semantic conventions (docs/opentelemetry.md).
//
//   const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics')
//   const producer = new StatefulRedisMetricProducer([orders, billing])
//   const reader = new PeriodicExportingMetricReader({ exporter, metricProducers: [producer] })
//   new MeterProvider({ readers: [reader] })
//
// or, where the reader cannot be configured, observable instruments on a meter
// provider (the histogram then comes as three counters):
//
//   const unregister = await observeMetrics([orders, billing], { meterProvider })
//
// The mapping is the core's (`otelMetrics()`); this file only converts its
// points to the SDK's shapes. `@opentelemetry/api` and `@opentelemetry/sdk-metrics`
// are optional peer dependencies, required only when these functions are used.

const { constLabels } = require('./prometheus.js')

/** The instrumentation scope of the metrics. */
const SCOPE_NAME = 'stateful-redis'

function scopeVersion() {
  return require('./package.json').version
}

function load(name) {
  try {
    return require(name)
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND') {
      throw new Error(
        `stateful-redis/otel needs ${name} (an optional peer dependency): ` +
          'npm install @opentelemetry/api @opentelemetry/sdk-metrics',
      )
    }
    throw e
  }
}

/** The executors as a list, refusing none and two with the same metricsLabels. */
async function checked(executors, caller) {
  const list = Array.isArray(executors) ? [...executors] : [executors]
  if (list.length === 0) throw new TypeError(`${caller}: no executor given`)
  const seen = new Map()
  const families = await Promise.all(list.map((e) => e.metricsFamilies()))
  families.forEach((f, i) => {
    const labels = constLabels(f)
    if (seen.has(labels)) {
      throw new TypeError(
        `${caller}: executors ${seen.get(labels)} and ${i} have the same metricsLabels; ` +
          "their points would collide (give each one, e.g. metricsLabels: { executor: 'orders' })",
      )
    }
    seen.set(labels, i)
  })
  return list
}

const hrTime = (t) => [t.seconds, t.nanos]

/**
 * A MetricProducer (`@opentelemetry/sdk-metrics`, the reader option
 * `metricProducers`) of the metrics of one or more executors: the real
 * `db.client.operation.duration` histogram with the core's bucket bounds and
 * cumulative points that start at each executor's period start. A closed
 * executor is left out.
 */
class StatefulRedisMetricProducer {
  constructor(executors) {
    this._executors = Array.isArray(executors) ? [...executors] : [executors]
    if (this._executors.length === 0) throw new TypeError('StatefulRedisMetricProducer: no executor given')
    const sdk = load('@opentelemetry/sdk-metrics')
    const api = load('@opentelemetry/api')
    this._types = {
      histogram: sdk.DataPointType.HISTOGRAM,
      counter: sdk.DataPointType.SUM,
      updowncounter: sdk.DataPointType.SUM,
      gauge: sdk.DataPointType.GAUGE,
    }
    this._cumulative = sdk.AggregationTemporality.CUMULATIVE
    this._valueType = api.ValueType
    this._checked = null
  }

  /** The MetricProducer interface: one read of every open executor. */
  async collect() {
    if (this._checked === null) this._checked = checked(this._executors, 'StatefulRedisMetricProducer')
    const list = await this._checked
    const reads = await Promise.all(list.filter((e) => !e.closed).map((e) => e.otelMetrics(false)))
    const byName = new Map()
    for (const read of reads) {
      const startTime = hrTime(read.start_time)
      const endTime = hrTime(read.time)
      for (const m of read.metrics) {
        let data = byName.get(m.name)
        if (data === undefined) {
          data = {
            descriptor: {
              name: m.name,
              description: m.description,
              unit: m.unit,
              valueType: m.unit === 's' ? this._valueType.DOUBLE : this._valueType.INT,
            },
            aggregationTemporality: this._cumulative,
            dataPointType: this._types[m.type],
            dataPoints: [],
          }
          if (m.type === 'counter' || m.type === 'updowncounter') data.isMonotonic = m.type === 'counter'
          byName.set(m.name, data)
        }
        for (const p of m.points) {
          const value =
            m.type === 'histogram'
              ? { buckets: { boundaries: m.boundaries, counts: p.bucket_counts }, sum: p.sum, count: p.count }
              : p.value
          data.dataPoints.push({ startTime, endTime, attributes: p.attributes, value })
        }
      }
    }
    const metrics = [...byName.values()].filter((m) => m.dataPoints.length > 0)
    return {
      resourceMetrics: {
        // The reader keeps the SDK's resource and ignores a producer's.
        resource: undefined,
        scopeMetrics: [{ scope: { name: SCOPE_NAME, version: scopeVersion() }, metrics }],
      },
      errors: [],
    }
  }
}

/**
 * Observable instruments on `options.meterProvider` (default: the global one)
 * reporting the metrics of one or more executors: the histogram as three
 * counters (`stateful_redis.client.operation.count`, `.duration.sum`,
 * `.duration.bucket` with `le`), the pool metrics as up-down counters. One
 * batch callback reads every open executor once per collection. Resolves to a
 * function that removes the callback (the SDK's cumulative storage may keep
 * repeating the last values).
 */
async function observeMetrics(executors, options = {}) {
  const list = await checked(executors, 'observeMetrics')
  const api = load('@opentelemetry/api')
  const provider = options.meterProvider ?? api.metrics.getMeterProvider()
  const meter = provider.getMeter(SCOPE_NAME, scopeVersion())
  const create = {
    counter: (n, o) => meter.createObservableCounter(n, o),
    updowncounter: (n, o) => meter.createObservableUpDownCounter(n, o),
    gauge: (n, o) => meter.createObservableGauge(n, o),
  }
  const instruments = new Map()
  for (const m of (await list[0].otelMetrics(true)).metrics) {
    const valueType = m.unit === 's' ? api.ValueType.DOUBLE : api.ValueType.INT
    instruments.set(m.name, create[m.type](m.name, { description: m.description, unit: m.unit, valueType }))
  }
  const callback = async (observer) => {
    const reads = await Promise.all(list.filter((e) => !e.closed).map((e) => e.otelMetrics(true)))
    for (const read of reads) {
      for (const m of read.metrics) {
        const instrument = instruments.get(m.name)
        if (instrument === undefined) continue
        for (const p of m.points) observer.observe(instrument, p.value, p.attributes)
      }
    }
  }
  const observables = [...instruments.values()]
  meter.addBatchObservableCallback(callback, observables)
  return function unregister() {
    meter.removeBatchObservableCallback(callback, observables)
  }
}

module.exports = { StatefulRedisMetricProducer, observeMetrics, SCOPE_NAME }
