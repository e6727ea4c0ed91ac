'use strict'
// The cost of the error classes' wrapping (bindings/node/errors.js): the same
// calls through the native methods as they were and through the package's
// wrapped methods (which await the native promise so that a rejection gets the
// awaiting callers' stack), against a private redis-server, in alternating
// rounds; and, for comparison, what capturing a stack at every call would cost.
// Usage: node error_stack.js [calls per round] [rounds]
const path = require('node:path')
const { spawn } = require('node:child_process')
const net = require('node:net')
const os = require('node:os')
const fs = require('node:fs')

const PACKAGE = path.join(__dirname, '..', '..', 'bindings', 'node')
const { platformTriple } = require(path.join(PACKAGE, 'scripts', 'install.js'))
// The native class before the package wraps its methods in place.
const native = require(path.join(PACKAGE, `stateful-redis.${platformTriple()}.node`))
const rawGet = native.Executor.prototype.getLinkedPod
const sr = require(PACKAGE)
const wrappedGet = sr.Executor.prototype.getLinkedPod

const CALLS = Number(process.argv[2] || 20000)
const ROUNDS = Number(process.argv[3] || 5)
const NS = 'app:eu:logic'

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function startRedis() {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stateful-redis-bench-'))
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve) => child.stdout.on('data', (d) => String(d).includes('Ready') && resolve()))
  return { url: `redis://127.0.0.1:${port}`, stop: () => { child.kill(); fs.rmSync(dir, { recursive: true, force: true }) } }
}

async function sequential(exec, get) {
  const t = process.hrtime.bigint()
  for (let i = 0; i < CALLS; i++) await get.call(exec, NS, 'u1', 'chat')
  return Number(process.hrtime.bigint() - t) / CALLS / 1000
}

async function concurrent(exec, get, inFlight = 64) {
  const t = process.hrtime.bigint()
  for (let done = 0; done < CALLS; done += inFlight) {
    const batch = []
    for (let i = 0; i < inFlight; i++) batch.push(get.call(exec, NS, 'u1', 'chat'))
    await Promise.all(batch)
  }
  return Number(process.hrtime.bigint() - t) / CALLS / 1000
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main() {
  // The capture alone.
  let sink = 0
  const t = process.hrtime.bigint()
  for (let i = 0; i < 1_000_000; i++) {
    const site = {}
    Error.captureStackTrace(site)
    sink += site === null ? 1 : 0
  }
  const captureNs = Number(process.hrtime.bigint() - t) / 1_000_000
  const server = await startRedis()
  const exec = await sr.Executor.connect({ url: server.url })
  await exec.setLinkedPod(NS, 'u1', 'chat', 1, -1)
  const results = { rawSeq: [], wrappedSeq: [], rawConc: [], wrappedConc: [] }
  await sequential(exec, rawGet)
  await sequential(exec, wrappedGet)
  for (let r = 0; r < ROUNDS; r++) {
    results.rawSeq.push(await sequential(exec, rawGet))
    results.wrappedSeq.push(await sequential(exec, wrappedGet))
    results.rawConc.push(await concurrent(exec, rawGet))
    results.wrappedConc.push(await concurrent(exec, wrappedGet))
  }
  exec.close()
  server.stop()
  const f = (x) => x.toFixed(2)
  console.log(`Error.captureStackTrace on a fresh object: ${captureNs.toFixed(0)} ns (1e6 calls, node ${process.version})`)
  console.log(`getLinkedPod, ${CALLS} calls x ${ROUNDS} rounds, median us/call:`)
  console.log(`  sequential (await each): native ${f(median(results.rawSeq))}, wrapped ${f(median(results.wrappedSeq))}`)
  console.log(`  64 in flight:            native ${f(median(results.rawConc))}, wrapped ${f(median(results.wrappedConc))}`)
  if (sink) console.log(sink)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
