'use strict'
// Runs every conformance vector of tests/vectors/ (format: tests/vectors/README.md)
// through the JS API: snake_case operation and argument names are mapped to the
// camelCase methods and their positional parameters.
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { harness, sr, startCluster } = require('./helpers')

const VECTORS = path.join(__dirname, '..', '..', '..', 'tests', 'vectors')

/** Operation → [method, parameter names in order]. */
const OPERATIONS = {
  set_service_state: ['setServiceState', ['ns', 'svc', 'pod', 'state']],
  get_service_state: ['getServiceState', ['ns', 'svc']],
  set_workload_state: ['setWorkloadState', ['ns', 'svc', 'state']],
  get_workload_state: ['getWorkloadState', ['ns', 'svc']],
  get_workload_states: ['getWorkloadStates', ['ns', 'svcs']],
  set_pod_load: ['setPodLoad', ['ns', 'svc', 'pod', 'load', 'state']],
  get_pod_loads: ['getPodLoads', ['ns', 'svc', 'fresh_since_ms']],
  set_linked_pod: ['setLinkedPod', ['ns', 'uid', 'svc', 'pod', 'persist']],
  try_set_linked_pod: ['trySetLinkedPod', ['ns', 'uid', 'svc', 'pod', 'persist']],
  set_linked_pod_if_absent: ['setLinkedPodIfAbsent', ['ns', 'uid', 'svc', 'pod', 'persist']],
  get_linked_pod: ['getLinkedPod', ['ns', 'uid', 'svc']],
  get_linked_pod_if_persist: ['getLinkedPodIfPersist', ['ns', 'uid', 'svc']],
  batch_get_linked_pod: ['batchGetLinkedPod', ['ns', 'uids', 'svc']],
  remove_linked_pod: ['removeLinkedPod', ['ns', 'uid', 'svc', 'keep']],
  remove_linked_pod_with_id: ['removeLinkedPodWithId', ['ns', 'uid', 'svc', 'keep', 'pod']],
  get_link_service: ['getLinkService', ['ns', 'uid']],
  compute_linked_pod: ['computeLinkedPod', ['ns', 'uid', 'svc', 'persist', 'policy']],
}

/** `{"$repeat": [s, n]}` → s repeated n times, anywhere in the arguments. */
function expand(value) {
  if (Array.isArray(value)) return value.map(expand)
  if (value && typeof value === 'object') {
    if (Array.isArray(value.$repeat)) return value.$repeat[0].repeat(value.$repeat[1])
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v)]))
  }
  return value
}

/** JS results in the vectors' JSON encoding (snake_case keys, null for void). */
function encode(value) {
  if (value === undefined) return null
  if (Array.isArray(value)) return value.map(encode)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()), encode(v)]))
  }
  return value
}

function matches(expected, actual) {
  if (expected && typeof expected === 'object' && !Array.isArray(expected)) {
    if ('$any' in expected) return true
    if ('$range' in expected) {
      const [lo, hi] = expected.$range
      return Number.isInteger(actual) && actual >= lo && actual <= hi
    }
    if ('$regex' in expected) return typeof actual === 'string' && new RegExp(expected.$regex).test(actual)
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false
    const keys = Object.keys(expected)
    return keys.length === Object.keys(actual).length && keys.every((k) => k in actual && matches(expected[k], actual[k]))
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => matches(e, actual[i]))
  }
  return expected === actual
}

const files = fs.readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort()

test('the full vector set is here', () => {
  assert.ok(files.length >= 15, `found ${files.length} vector files`)
})

/** Runs one vector file's steps; returns the error codes seen. */
async function runVector(file, raw, exec, codesSeen) {
  const vector = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8'))
  assert.ok(vector.description)
  await raw.call('FLUSHALL')
  for (const [i, step] of vector.steps.entries()) {
    const at = `${file} step ${i}`
    if ('sleep_ms' in step) {
      await new Promise((resolve) => setTimeout(resolve, step.sleep_ms))
    } else if ('redis' in step) {
      const reply = await raw.call(...step.redis)
      if ('expect' in step) {
        assert.ok(matches(step.expect, reply), `${at}: ${JSON.stringify(step.redis)} gave ${JSON.stringify(reply)}, expected ${JSON.stringify(step.expect)}`)
      }
    } else {
      const [method, params] = OPERATIONS[step.op] || assert.fail(`${at}: unknown operation ${step.op}`)
      const args = expand(step.args || {})
      for (const name of Object.keys(args)) {
        assert.ok(params.includes(name), `${at}: unknown argument ${name}`)
      }
      let result
      let error
      try {
        result = encode(await exec[method](...params.map((p) => args[p])))
      } catch (e) {
        error = e
      }
      if ('error' in step) {
        assert.ok(error, `${at}: ${method} returned ${JSON.stringify(result)}, expected ${step.error}`)
        assert.ok(error instanceof Error, `${at}: not an Error`)
        assert.equal(error.code, step.error, `${at}: ${error.message}`)
        assert.equal(error.operation, step.op, `${at}: operation`)
        assert.equal(typeof error.retryable, 'boolean')
        codesSeen.add(error.code)
      } else {
        if (error) assert.fail(`${at}: ${method} failed: ${error.message}`)
        assert.ok('expect' in step, `${at}: no expect`)
        assert.ok(matches(step.expect, result), `${at}: ${method} gave ${JSON.stringify(result)}, expected ${JSON.stringify(step.expect)}`)
      }
    }
  }
}

/** Runs every vector file as a subtest of `t`; returns the error codes seen. */
async function runAll(t, h) {
  const codesSeen = new Set()
  for (const file of files) {
    await t.test(file, () => runVector(file, h.raw, h.exec, codesSeen))
  }
  return codesSeen
}

// With the default options every call's I/O runs on the JS thread: the
// event-loop connection, checked here to have served the calls.
test('conformance vectors', async (t) => {
  const h = await harness({ clientName: 'vectors-loop' })
  t.after(() => h.close())
  const codesSeen = await runAll(t, h)
  // Every code reachable without faults appears in the vectors.
  assert.ok(codesSeen.has('INVALID_ARGUMENT'))
  assert.ok(codesSeen.has('DATA'))
  // Two named connections: the shared one and the event-loop one (opened
  // after it: the higher id), whose last command is not its CLIENT SETNAME.
  const clients = (await h.raw.call('CLIENT', 'LIST')).split('\n').filter((l) => l.includes(' name=vectors-loop '))
  assert.equal(clients.length, 2, clients.join('\n'))
  const id = (line) => Number(/^id=(\d+) /.exec(line)[1])
  const loop = clients.reduce((a, b) => (id(a) > id(b) ? a : b))
  assert.ok(!loop.includes(' cmd=client|setname '), loop)
})

// The same vectors on the shared connection, whose I/O is on the core's thread.
test('conformance vectors on the shared connection (eventLoopConnection: false)', async (t) => {
  const h = await harness({ eventLoopConnection: false, clientName: 'vectors-shared' })
  t.after(() => h.close())
  const codesSeen = await runAll(t, h)
  assert.ok(codesSeen.has('INVALID_ARGUMENT'))
  assert.ok(codesSeen.has('DATA'))
  const clients = (await h.raw.call('CLIENT', 'LIST')).split('\n').filter((l) => l.includes(' name=vectors-shared '))
  assert.equal(clients.length, 1, clients.join('\n'))
})

// Cluster support lives in the core; this shows the options reach it from JS.
test('conformance vectors on a Redis Cluster (3 masters, 3 replicas)', async (t) => {
  const cluster = await startCluster()
  t.after(() => cluster.stop())
  const exec = await sr.Executor.connect({ clusterNodes: cluster.urls, commandTimeoutMs: 2000 })
  t.after(() => exec.close())
  const codesSeen = new Set()
  for (const file of files) {
    await t.test(file, () => runVector(file, cluster.raw, exec, codesSeen))
  }
  await t.test('the Java key schema is refused', async () => {
    await assert.rejects(sr.Executor.connect({ clusterNodes: cluster.urls, keySchema: 'java' }),
      (e) => e.code === 'CONFIG')
  })
})
