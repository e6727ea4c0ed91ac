'use strict'
// Node benchmark: stateful-redis (this package) against ioredis and valkey-glide,
// running the same Lua scripts (core/src/scripts/*.lua, EVALSHA) and the same
// commands on the same keys of one private redis-server, in the same run.
//
// Workloads (PERFORMANCE.md): "mix" = 40% getLinkedPod, 25% setLinkedPod (half
// persistent, half TTL 300), 15% setLinkedPodIfAbsent (same split), 10%
// removeLinkedPod (half keep -1, half keep 60), 10% batchGetLinkedPod of 100 uids;
// "batch" = batchGetLinkedPod of 100 uids only. 10,000 uids x 4 services, 32 pods;
// before each run FLUSHDB, then half of the (uid, service) pairs linked (half
// persistent, half TTL 300). Each call counts as one operation.
//
// Usage (run.sh does the pinning): taskset -c 1 node bench.js [--seconds 5]
//   [--runs 3] [--clients stateful-redis,ioredis,glide] [--json out.json]
//   [--baseline DIR] (adds the contender "baseline": another copy of the package,
//   e.g. a build of main, for an A/B of the binding in the same rounds)
// redis-server is started here pinned to CPU 0 (taskset -c 0).
// One contender run of benches/contenders.py (no server started, no prefill):
//   node bench.js --url URL --client ioredis --inflight 64 --seconds 5 --workloads mix
//     --ns bench:region:logic
//
// Besides ops/s and latency, each run records the client's CPU per operation
// (process.cpuUsage(): the JS thread and the binding's runtime thread), the
// server's (INFO used_cpu_user + used_cpu_sys over the run) and the event-loop
// delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution: an idle loop reads
// about 1 ms; a loop kept busy settling and reissuing calls reads more).
const { spawn, execFileSync } = require('node:child_process')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const REPO = path.join(__dirname, '..', '..')
const Redis = require('ioredis')
// Loaded on first use, so the peers run without the addon built.
let srModule = null
const sr = () => (srModule ||= require(path.join(REPO, 'bindings', 'node')))

const args = process.argv.slice(2)
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const SECONDS = Number(opt('seconds', '5'))
const RUNS = Number(opt('runs', '3'))
const CLIENTS = opt('clients', 'stateful-redis,ioredis,glide').split(',')
const WORKLOADS = opt('workloads', 'mix,batch').split(',')
const INFLIGHT = opt('inflight', '1,64').split(',').map(Number)
const JSON_OUT = opt('json', null)
const BASELINE = opt('baseline', null)
const baseline = BASELINE ? require(path.resolve(BASELINE)) : null

const NS = opt('ns', 'bench:eu:logic')
const UIDS = 10_000
const SVCS = ['svc0', 'svc1', 'svc2', 'svc3']
const PODS = 32
const BATCH = 100
const uid = (i) => `u${i}`
const linkKey = (u, svc) => `sf:{${NS}:lk:${u}}${svc}`
const indexKey = (u) => `sf:{${NS}:lk:${u}}`

// Each script as the core sends it (core/src/scripts.rs): the MAX_POD line (MAX_POD =
// i32::MAX in core/src/validate.rs), prelude.lua, a newline and the script's file.
// benches/contenders.py checks with SCRIPT EXISTS that the SHA1 is the core's.
const MAX_POD = '2147483647'
const readScript = (file) => fs.readFileSync(path.join(REPO, 'core', 'src', 'scripts', file), 'utf8')
const SCRIPTS = Object.fromEntries(['set_linked_pod', 'set_linked_pod_if_absent', 'remove_linked_pod'].map(
  (name) => [name, `local MAX_POD = '${MAX_POD}'\n${readScript('prelude.lua')}\n${readScript(`${name}.lua`)}`]
))

// ----- the three clients, same operations --------------------------------------

function groupByPod(uids, values) {
  const byPod = {}
  for (let i = 0; i < uids.length; i++) {
    const v = values[i]
    if (v === null || v === undefined) continue
    const pod = Number(v)
    ;(byPod[pod] ||= []).push(uids[i])
  }
  return byPod
}

async function ours(url, pkg = null, options = {}) {
  const x = await (pkg || sr()).Executor.connect({ url, commandTimeoutMs: 5000, ...options })
  return {
    get: (u, svc) => x.getLinkedPod(NS, u, svc),
    set: (u, svc, pod, persist) => x.setLinkedPod(NS, u, svc, pod, persist),
    ifAbsent: (u, svc, pod, persist) => x.setLinkedPodIfAbsent(NS, u, svc, pod, persist),
    remove: (u, svc, keep) => x.removeLinkedPod(NS, u, svc, keep),
    batch: (uids, svc) => x.batchGetLinkedPod(NS, uids, svc),
    close: () => x.close(),
  }
}

async function ioredis(port, host = '127.0.0.1') {
  const r = new Redis(port, host, { enableAutoPipelining: false })
  const sha = {}
  for (const [name, source] of Object.entries(SCRIPTS)) sha[name] = await r.script('LOAD', source)
  const pod = (v) => (v === null ? null : Number(v))
  return {
    get: async (u, svc) => pod(await r.get(linkKey(u, svc))),
    set: async (u, svc, p, persist) => pod(await r.evalsha(sha.set_linked_pod, 2, linkKey(u, svc), indexKey(u), svc, p, persist)),
    ifAbsent: async (u, svc, p, persist) => Number(await r.evalsha(sha.set_linked_pod_if_absent, 2, linkKey(u, svc), indexKey(u), svc, p, persist)),
    remove: async (u, svc, keep) => (await r.evalsha(sha.remove_linked_pod, 2, linkKey(u, svc), indexKey(u), svc, keep, '')) === 1,
    batch: async (uids, svc) => groupByPod(uids, await r.mget(uids.map((u) => linkKey(u, svc)))),
    close: () => r.disconnect(),
  }
}

async function glide(port, host = '127.0.0.1') {
  const { GlideClient, Script } = require('@valkey/valkey-glide')
  const c = await GlideClient.createClient({ addresses: [{ host, port }], requestTimeout: 5000 })
  const scripts = Object.fromEntries(Object.entries(SCRIPTS).map(([name, source]) => [name, new Script(source)]))
  const pod = (v) => (v === null ? null : Number(v))
  const run = (name, u, svc, a, b) => c.invokeScript(scripts[name], { keys: [linkKey(u, svc), indexKey(u)], args: [svc, String(a), String(b)] })
  return {
    get: async (u, svc) => pod(await c.get(linkKey(u, svc))),
    set: async (u, svc, p, persist) => pod(await run('set_linked_pod', u, svc, p, persist)),
    ifAbsent: async (u, svc, p, persist) => Number(await run('set_linked_pod_if_absent', u, svc, p, persist)),
    remove: async (u, svc, keep) => (await run('remove_linked_pod', u, svc, keep, '')) === 1,
    batch: async (uids, svc) => groupByPod(uids, await c.mget(uids.map((u) => linkKey(u, svc)))),
    close: () => {
      for (const s of Object.values(scripts)) s.release()
      c.close()
    },
  }
}

// ----- workload ----------------------------------------------------------------

/** xorshift32: the same operation sequence for every client. */
function rng(seed) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s / 4294967296
  }
}

function nextOp(workload, rand, client) {
  const u = uid(Math.floor(rand() * UIDS))
  const svc = SVCS[Math.floor(rand() * SVCS.length)]
  if (workload === 'batch') return batchCall(rand, svc, client)
  const r = rand()
  const p = Math.floor(rand() * PODS)
  const half = rand() < 0.5
  if (r < 0.40) return client.get(u, svc)
  if (r < 0.65) return client.set(u, svc, p, half ? -1 : 300)
  if (r < 0.80) return client.ifAbsent(u, svc, p, half ? -1 : 300)
  if (r < 0.90) return client.remove(u, svc, half ? -1 : 60)
  return batchCall(rand, svc, client)
}

function batchCall(rand, svc, client) {
  const start = Math.floor(rand() * (UIDS - BATCH))
  const uids = []
  for (let i = 0; i < BATCH; i++) uids.push(uid(start + i))
  return client.batch(uids, svc)
}

async function prefill(raw) {
  await raw.flushdb()
  let pipe = raw.pipeline()
  let n = 0
  for (let i = 0; i < UIDS; i++) {
    for (const [j, svc] of SVCS.entries()) {
      if ((i + j) % 2) continue // half of the pairs
      const u = uid(i)
      const p = (i * 7 + j) % PODS
      if ((i >> 1) % 2) {
        pipe.set(linkKey(u, svc), p).hset(indexKey(u), svc, p)
      } else {
        pipe.set(linkKey(u, svc), p, 'EX', 300)
      }
      if (++n % 2000 === 0) {
        await pipe.exec()
        pipe = raw.pipeline()
      }
    }
  }
  await pipe.exec()
}

/** The server's CPU time so far, in microseconds (INFO cpu). */
async function serverCpuUs(raw) {
  const info = await raw.info('cpu')
  const field = (name) => Number(info.match(new RegExp(`${name}:([0-9.]+)`))[1])
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6
}

async function measure(client, workload, inflight, seconds, seed, raw) {
  const rand = rng(seed)
  const server0 = raw ? await serverCpuUs(raw) : 0
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const cpu0 = process.cpuUsage()
  const latencies = []
  let ops = 0
  let errors = 0
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  let stop = false
  async function worker() {
    while (!stop) {
      const t0 = process.hrtime.bigint()
      try {
        await nextOp(workload, rand, client)
      } catch {
        errors++
      }
      const t1 = process.hrtime.bigint()
      latencies.push(Number(t1 - t0) / 1000)
      ops++
      if (t1 >= end) stop = true
    }
  }
  const started = process.hrtime.bigint()
  await Promise.all(Array.from({ length: inflight }, worker))
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpu0)
  delay.disable()
  const server = raw ? (await serverCpuUs(raw)) - server0 : NaN
  latencies.sort((a, b) => a - b)
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]
  return {
    ops_per_s: ops / elapsed, p50_us: q(0.5), p99_us: q(0.99), ops, errors,
    client_cpu_us_per_op: (cpu.user + cpu.system) / ops,
    server_cpu_us_per_op: server / ops,
    loop_delay_p50_ms: delay.percentile(50) / 1e6,
    loop_delay_p99_ms: delay.percentile(99) / 1e6,
  }
}

// ----- server ------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function startRedis() {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stateful-redis-bench-'))
  const child = spawn('taskset', ['-c', '0', 'redis-server', '--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    let out = ''
    child.on('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out}`)))
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('Ready to accept connections')) resolve()
    })
  })
  child.stdout.resume()
  return {
    port,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

// ----- main --------------------------------------------------------------------

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  const server = await startRedis()
  const raw = new Redis(server.port, '127.0.0.1')
  const redisVersion = (await raw.info('server')).match(/redis_version:(\S+)/)[1]
  const makers = {
    'stateful-redis': () => ours(`redis://127.0.0.1:${server.port}`),
    'stateful-redis-shared': () => ours(`redis://127.0.0.1:${server.port}`, null, { eventLoopConnection: false }),
    ioredis: () => ioredis(server.port),
    glide: () => glide(server.port),
    baseline: () => ours(`redis://127.0.0.1:${server.port}`, baseline),
  }
  const results = [] // {workload, inflight, client, runs: [...]}
  try {
    for (const workload of WORKLOADS) {
      for (const inflight of INFLIGHT) {
        const rows = Object.fromEntries(CLIENTS.map((c) => [c, []]))
        for (let run = 0; run < RUNS; run++) {
          // Clients interleaved within each run, so drift hits them alike.
          for (const name of CLIENTS) {
            await prefill(raw)
            const client = await makers[name]()
            await measure(client, workload, inflight, Math.min(1, SECONDS), 7 + run) // warm-up
            await prefill(raw)
            const r = await measure(client, workload, inflight, SECONDS, 1000 + run, raw)
            client.close()
            rows[name].push(r)
            console.error(`${workload} ${inflight} in flight, run ${run + 1}: ${name.padEnd(14)} ${Math.round(r.ops_per_s).toString().padStart(7)} ops/s  p50 ${r.p50_us.toFixed(0)} us  p99 ${r.p99_us.toFixed(0)} us  errors ${r.errors}  client ${r.client_cpu_us_per_op.toFixed(1)} us/op  server ${r.server_cpu_us_per_op.toFixed(1)} us/op  loop delay p50 ${r.loop_delay_p50_ms.toFixed(2)} ms p99 ${r.loop_delay_p99_ms.toFixed(2)} ms`)
          }
        }
        for (const name of CLIENTS) {
          const runs = rows[name]
          results.push({
            workload, inflight, client: name, runs,
            ops_per_s: median(runs.map((r) => r.ops_per_s)),
            p50_us: median(runs.map((r) => r.p50_us)),
            p99_us: median(runs.map((r) => r.p99_us)),
            client_cpu_us_per_op: median(runs.map((r) => r.client_cpu_us_per_op)),
            server_cpu_us_per_op: median(runs.map((r) => r.server_cpu_us_per_op)),
            loop_delay_p50_ms: median(runs.map((r) => r.loop_delay_p50_ms)),
            loop_delay_p99_ms: median(runs.map((r) => r.loop_delay_p99_ms)),
            errors: runs.reduce((a, r) => a + r.errors, 0),
          })
        }
      }
    }
  } finally {
    raw.disconnect()
    await server.stop()
  }
  const cpu = os.cpus()[0].model
  const meta = {
    date: new Date().toISOString(), node: process.version, redis: redisVersion, cpu, cores: os.cpus().length,
    seconds: SECONDS, runs: RUNS, command: `taskset -c 1 node benches/node/bench.js ${args.join(' ')}`.trim(),
    glide: JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', '@valkey', 'valkey-glide', 'package.json'), 'utf8')).version, ioredis: require('ioredis/package.json').version,
  }
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ meta, results }, null, 2))
  console.log(markdown(meta, results))
}

function markdown(meta, results) {
  const lines = []
  lines.push(`| workload | in flight | client | ops/s | p50 µs | p99 µs | client CPU µs/op | server CPU µs/op | loop delay p50/p99 ms | ours ÷ this (ops/s) |`)
  lines.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of results) {
    const ours = results.find((o) => o.workload === r.workload && o.inflight === r.inflight && o.client === 'stateful-redis')
    const ratio = ours && r.client !== 'stateful-redis' ? `${(ours.ops_per_s / r.ops_per_s).toFixed(2)}×` : ''
    lines.push(`| ${r.workload} | ${r.inflight} | ${r.client} | ${Math.round(r.ops_per_s).toLocaleString('en-US')} | ${r.p50_us.toFixed(0)} | ${r.p99_us.toFixed(0)} | ${r.client_cpu_us_per_op.toFixed(1)} | ${r.server_cpu_us_per_op.toFixed(1)} | ${r.loop_delay_p50_ms.toFixed(2)}/${r.loop_delay_p99_ms.toFixed(2)} | ${ratio} |`)
  }
  lines.push('')
  lines.push(`Medians of ${meta.runs} runs of ${meta.seconds} s (after a 1 s warm-up each); ${meta.date}; Node ${meta.node}, Redis ${meta.redis}, ioredis ${meta.ioredis}, valkey-glide ${meta.glide}; ${meta.cpu}, ${meta.cores} cores; redis-server on CPU 0, client on CPU 1.`)
  return lines.join('\n')
}

// One contender of benches/contenders.py: `--url URL --client NAME --inflight N
// --seconds S` runs that client once against the server as the caller prepared it (no
// FLUSHDB, no prefill): 1 s warm-up, then the window; prints one JSON line, with the
// event-loop delay (perf_hooks) over the window.
async function single() {
  const url = new URL(opt('url'))
  const host = url.hostname
  const port = Number(url.port || 6379)
  const name = opt('client', 'stateful-redis')
  const makers = {
    'stateful-redis': () => ours(`redis://${host}:${port}`),
    // eventLoopConnection off: every call's I/O on the core's thread.
    'stateful-redis-shared': () => ours(`redis://${host}:${port}`, null, { eventLoopConnection: false }),
    ioredis: () => ioredis(port, host),
    glide: () => glide(port, host),
  }
  if (!makers[name]) throw new Error(`unknown client ${name}`)
  const inflight = INFLIGHT[0]
  const workload = WORKLOADS[0]
  const client = await makers[name]()
  await measure(client, workload, inflight, Number(opt('warmup', '1')), 7)
  const { monitorEventLoopDelay } = require('node:perf_hooks')
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const r = await measure(client, workload, inflight, SECONDS, 1000)
  loop.disable()
  client.close()
  console.log(JSON.stringify({
    impl: name, concurrency: inflight, ...r,
    loop_delay_p50_ms: loop.percentile(50) / 1e6, loop_delay_p99_ms: loop.percentile(99) / 1e6,
  }))
}

;(opt('url', null) ? single() : main()).catch((e) => {
  console.error(e)
  process.exit(1)
})
