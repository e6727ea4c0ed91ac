// A consumer of the package's typings; `tsc --strict --noEmit` must accept it.
import { Executor, ErrorCode, nativeVersion, observeMetrics, registerMetrics, StatefulRedisMetricProducer } from 'stateful-redis'
import type {
  AlertEvent, ExecutorOptions, MetricFamily, OtelMetrics, MetricsSnapshot, PodLoad, PoolChange, RoutingPolicy, ScriptsReport,
  StatefulRedisError, Suggestion, TrySetResult,
} from 'stateful-redis'

async function main(): Promise<void> {
  const options: ExecutorOptions = {
    url: 'redis://127.0.0.1:6379',
    commandTimeoutMs: 500,
    retry: { maxAttempts: 2 },
    keySchema: 'default',
    clientName: 'router-7',
    metricsLabels: { executor: 'orders' },
  }
  // @ts-expect-error keySchema is 'default' | 'java'
  const badSchema: ExecutorOptions = { keySchema: 'nope' }
  const java: ExecutorOptions = { keySchema: 'java' }
  console.log(badSchema, java)
  const exec: Executor = await Executor.connect(options)
  const families: MetricFamily[] = await exec.metricsFamilies()
  const kind: 'counter' | 'gauge' | 'histogram' = families[0].type
  const labels: Record<string, string> = families[0].samples[0].labels
  const unregister: () => void = await registerMetrics([exec], {
    registry: { registerMetric() {}, getSingleMetric: () => undefined, removeSingleMetric() {} },
  })
  unregister()
  console.log(kind, labels)
  const otel: OtelMetrics = await exec.otelMetrics()
  const counters: OtelMetrics = await exec.otelMetrics(true)
  const bounds: number[] | undefined = otel.metrics[0].boundaries
  const start: number = otel.start_time.seconds + otel.start_time.nanos / 1e9
  console.log(counters, bounds, start, await new StatefulRedisMetricProducer([exec]).collect())
  const stop: () => void = await observeMetrics(exec, { meterProvider: { getMeter: () => ({}) } })
  stop()
  // @ts-expect-error label values are strings
  const badLabels: ExecutorOptions = { metricsLabels: { executor: 3 } }
  console.log(badLabels)
  const ns = 'app:eu:logic'
  await exec.setServiceState(ns, 'game', 1, 'online')
  const states: Record<string, string> = await exec.getServiceState(ns, 'game')
  await exec.setWorkloadState(ns, 'game', 'open')
  const workload: string | null = await exec.getWorkloadState(ns, 'game')
  const workloads: Record<string, string> = await exec.getWorkloadStates(ns, ['game', 'chat'])
  const stamp: number = await exec.setPodLoad(ns, 'game', 1, 10, 0)
  const loads: Record<string, PodLoad> = await exec.getPodLoads(ns, 'game', stamp - 1000)
  const previous: number | null = await exec.setLinkedPod(ns, 'u1', 'chat', 3, -1)
  const attempt: TrySetResult = await exec.trySetLinkedPod(ns, 'u1', 'chat', 4, 300)
  const actual: number = await exec.setLinkedPodIfAbsent(ns, 'u1', 'chat', 5, -1)
  const pod: number | null = await exec.getLinkedPod(ns, 'u1', 'chat')
  const persistent: number | null = await exec.getLinkedPodIfPersist(ns, 'u1', 'chat')
  const byPod: Record<string, string[]> = await exec.batchGetLinkedPod(ns, ['u1', 'u2'], 'chat')
  const existed: boolean = await exec.removeLinkedPod(ns, 'u1', 'chat', 60)
  const removed: boolean = await exec.removeLinkedPodWithId(ns, 'u1', 'chat', -1, 3)
  const links: Record<string, number> = await exec.getLinkService(ns, 'u1')
  const policy: RoutingPolicy = { maxAgeMs: 30_000, maxState: 1 }
  const routed: number | null = await exec.computeLinkedPod(ns, 'u7', 'game', 300, policy)
  await exec.computeLinkedPod(ns, 'u8', 'game', -1)
  try {
    await exec.getLinkedPod(ns, '', 'chat')
  } catch (e) {
    const err = e as StatefulRedisError
    if (err.code === ErrorCode.INVALID_ARGUMENT || err.code === 'CLOSED') {
      const retry: boolean = err.retryable
      const op: string = err.operation
      console.log(retry, op)
    }
  }
  const snapshot: MetricsSnapshot = await exec.metrics()
  const p99: number = snapshot.operations[0].latency_ms.p99
  const timeouts: number = snapshot.errors_by_code.TIMEOUT
  const text: string = await exec.metricsPrometheus()
  const last: MetricsSnapshot = await exec.resetMetrics()
  exec.recordOperation('app.checkout', 1.5, true)
  exec.setAlertThreshold('*.error_rate', 0.05)
  exec.setAlertThreshold('set_linked_pod.p99_ms', 20, { sustainMs: 5000, hysteresis: 0.2, direction: 'above' })
  const unsubscribe: () => boolean = exec.onAlert((event: AlertEvent) => {
    const state: 'pending' | 'firing' | 'resolved' = event.state
    console.log(state, event.metric, event.value, event.at_ms)
  })
  unsubscribe()
  const suggestions: Suggestion[] = await exec.optimizationSuggestions()
  const pool: PoolChange = await exec.optimizeConnectionPool()
  const scripts: ScriptsReport = await exec.optimizeLuaScripts()
  console.log(p99, timeouts, text.length, last.period_seconds, suggestions.map((s) => s.severity),
    pool.connections_after, scripts.missing_before)
  const closed: boolean = exec.closed
  exec.close()
  console.log(nativeVersion(), states, workload, workloads, loads, previous, attempt.ok, attempt.pod,
    actual, pod, persistent, byPod, existed, removed, links, routed, closed)
}

void main()
