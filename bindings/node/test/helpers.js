'use strict'
// Shared set-up of the node tests: a private redis-server on a free loopback port
// (stopped when the test file ends), an executor connected to it and a raw ioredis
// client to set up and inspect the keyspace.
const { spawn } = require('node:child_process')
const { mkdtempSync, rmSync } = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const Redis = require('ioredis')
const sr = require('..')

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

/** Starts `redis-server` (extra config lines as arguments); resolves when ready. */
async function startRedis(extra = []) {
  const port = await freePort()
  // The `stateful-redis-` prefix lets .ci/run clean up after a crashed test.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stateful-redis-node-'))
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--enable-debug-command', 'local', '--dir', dir, ...extra,
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

module.exports = { sr, startRedis, harness, rejection, NS: 'app:eu:logic' }
