'use strict'
// Shared set-up of the node tests: a private redis-server on a free loopback port
// (stopped when the test file ends), an executor connected to it and a raw ioredis
// client to set up and inspect the keyspace.
const { execFileSync, spawn } = require('node:child_process')
const { mkdtempSync, rmSync } = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const Redis = require('ioredis')
// The package under test: this folder, or an installed copy of it (the node
// suite runs the vectors against the packed packages installed elsewhere).
const sr = require(process.env.STATEFUL_REDIS_NODE_PACKAGE || '..')

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** A free port whose cluster bus port (port + 10000) is free too. */
async function freeClusterPort() {
  for (;;) {
    const port = await freePort()
    if (port + 10000 > 65535) continue
    const busFree = await new Promise((resolve) => {
      const server = net.createServer()
      server.once('error', () => resolve(false))
      server.listen(port + 10000, '127.0.0.1', () => server.close(() => resolve(true)))
    })
    if (busFree) return port
  }
}

/** Starts `redis-server` (extra config lines as arguments); resolves when ready. */
async function startRedis(extra = [], port = 0) {
  port = port || (await freePort())
  // Under $TMPDIR with a pidfile: .ci/run stops the server if this process
  // dies first (scripts/lib/private-root.sh).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stateful-redis-node-'))
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--enable-debug-command', 'local', '--dir', dir, '--pidfile', path.join(dir, 'redis.pid'), ...extra,
  ], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('redis-server did not start: ' + out)), 10_000)
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)))
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  child.stdout.resume()
  const url = `redis://127.0.0.1:${port}`
  return {
    port,
    url,
    child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * A Redis Cluster of 3 masters and 3 replicas (`redis-cli --cluster create`),
 * ready when every node says cluster_state:ok and every replica is in sync.
 * `raw.call` sends a keyed command to its key's master (ioredis's cluster client),
 * FLUSHALL to every master and sums DBSIZE over them.
 */
async function startCluster() {
  const nodes = []
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()))
  }
  try {
    for (let i = 0; i < 6; i++) {
      nodes.push(await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', '1000', '--repl-diskless-sync-delay', '0'], await freeClusterPort()))
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', '1', '--cluster-yes'], { stdio: 'ignore', timeout: 60_000 })
    const deadline = Date.now() + 30_000
    for (;;) {
      let ready = true
      for (const node of nodes) {
        const c = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 0 })
        const info = await c.call('CLUSTER', 'INFO')
        const replication = await c.info('replication')
        c.disconnect()
        if (!info.includes('cluster_state:ok') ||
            (!replication.includes('role:master') && !replication.includes('master_link_status:up'))) {
          ready = false
        }
      }
      if (ready) break
      if (Date.now() > deadline) throw new Error('the cluster did not become ready')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } catch (e) {
    await stop()
    throw e
  }
  const router = new Redis.Cluster([{ host: '127.0.0.1', port: nodes[0].port }])
  const raw = {
    async call(...args) {
      const name = String(args[0]).toUpperCase()
      if (name === 'FLUSHALL' || name === 'DBSIZE') {
        const replies = await Promise.all(router.nodes('master').map((n) => n.call(...args)))
        return name === 'DBSIZE' ? replies.reduce((a, b) => a + b, 0) : replies[0]
      }
      return router.call(...args)
    },
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    raw,
    async stop() {
      router.disconnect()
      await stop()
    },
  }
}

/** A server, an executor and a raw client; `close()` stops them all. */
async function harness(options = {}) {
  const server = await startRedis()
  const exec = await sr.Executor.connect({ url: server.url, commandTimeoutMs: 2000, ...options })
  const raw = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 })
  await raw.connect()
  return {
    server,
    exec,
    raw,
    async close() {
      exec.close()
      raw.disconnect()
      await server.stop()
    },
  }
}

/** The rejection of `promise` (fails if it resolves). */
async function rejection(promise) {
  try {
    const value = await promise
    throw new Error('expected a rejection, got ' + JSON.stringify(value))
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('expected a rejection')) throw e
    return e
  }
}

module.exports = { sr, startRedis, startCluster, harness, rejection, NS: 'app:eu:logic' }
