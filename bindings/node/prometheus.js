'use strict'
// The metrics of stateful-redis executors in a prom-client registry.
//
//   const client = require('prom-client')
//   const orders = await Executor.connect({ metricsLabels: { executor: 'orders' } })
//   const billing = await Executor.connect({ metricsLabels: { executor: 'billing' } })
//   const unregister = await registerMetrics([orders, billing], { registry: client.register })
//   await client.register.metrics()
//
// The families come ready from the core (`metricsFamilies()`, what
// `metricsPrometheus()` renders), so names and labels are the same whichever way
// the metrics are scraped; this file only hands them to the registry as
// prom-client metric objects (`{ name, help, type, get() }`, the shape
// `Registry#getMetricsAsString` reads). prom-client itself is not required
// here: any registry with `registerMetric` works. See docs/node.md.

/** The const labels of one executor's families: its build-info labels but `version`. */
function constLabels(families) {
  const build = families.find((f) => f.name === 'stateful_redis_build_info')
  if (!build) throw new TypeError('registerMetrics: not an executor of stateful-redis')
  const { version, ...labels } = build.samples[0].labels
  return JSON.stringify(Object.entries(labels).sort())
}

/**
 * Registers the metric families of `executors` (one or an array; each with its
 * own `metricsLabels`) in `registry` (default: prom-client's global `register`).
 * Every scrape reads each open executor once; a closed one is left out. Resolves
 * to a function that removes the families from the registry.
 */
async function registerMetrics(executors, options = {}) {
  const list = Array.isArray(executors) ? [...executors] : [executors]
  if (list.length === 0) throw new TypeError('registerMetrics: no executor given')
  const registry = options.registry ?? require('prom-client').register
  if (typeof registry?.registerMetric !== 'function') {
    throw new TypeError('registerMetrics: options.registry is not a prom-client Registry')
  }
  const first = await Promise.all(list.map((e) => e.metricsFamilies()))
  const seen = new Map()
  first.forEach((families, i) => {
    const labels = constLabels(families)
    if (seen.has(labels)) {
      throw new TypeError(
        `registerMetrics: executors ${seen.get(labels)} and ${i} have the same metricsLabels; ` +
          "their series would collide (give each one, e.g. metricsLabels: { executor: 'orders' })",
      )
    }
    seen.set(labels, i)
  })

  // One read of every executor per scrape: the registry asks every family in
  // the same turn of the event loop, so they share the read of that turn.
  let pending = null
  const read = () => {
    if (pending === null) {
      pending = Promise.all(list.filter((e) => !e.closed).map((e) => e.metricsFamilies()))
      queueMicrotask(() => {
        pending = null
      })
    }
    return pending
  }
  const metrics = first[0].map(({ name, help, type }) => ({
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      const values = []
      for (const families of await read()) {
        const family = families.find((f) => f.name === name)
        for (const s of family?.samples ?? []) {
          // A sample named as its family takes the name the registry gives the
          // family: an OpenMetrics registry renames a counter to its name without
          // `_total` (this.name) and adds `_total` to its samples.
          values.push(s.name === name ? { labels: s.labels, value: s.value } : { metricName: s.name, labels: s.labels, value: s.value })
        }
      }
      return { name: this.name, help, type, aggregator: 'sum', values }
    },
    // registry.resetMetrics() leaves the executors' periods alone: an
    // executor's own resetMetrics() starts a new one.
    reset() {},
  }))
  const names = metrics.map((m) => m.name)
  for (const metric of metrics) {
    if (registry.getSingleMetric(metric.name)) {
      throw new TypeError(`registerMetrics: ${metric.name} is already registered in this registry`)
    }
  }
  for (const metric of metrics) registry.registerMetric(metric)
  return function unregister() {
    // By the names registered (an OpenMetrics registry renames counters).
    metrics.forEach((metric, i) => {
      if (registry.getSingleMetric(names[i]) === metric) registry.removeSingleMetric(names[i])
    })
  }
}

module.exports = { registerMetrics, constLabels }
