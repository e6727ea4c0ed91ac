'use strict'
// The package as its users load it: require, import, and the TypeScript typings.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const PACKAGE = path.join(__dirname, '..')

test('require() gives the native module', () => {
  const sr = require('stateful-redis')
  assert.equal(typeof sr.Executor.connect, 'function')
  assert.equal(typeof sr.nativeVersion(), 'string')
  assert.equal(sr.ErrorCode.CLOSED, 'CLOSED')
  assert.throws(() => new sr.Executor(), 'no public constructor: use Executor.connect')
})

test('import gives the same module (named and default exports)', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import sr, { Executor, ErrorCode, nativeVersion } from 'stateful-redis'
    import { createRequire } from 'node:module'
    const cjs = createRequire(import.meta.url)('stateful-redis')
    if (Executor !== cjs.Executor || sr.Executor !== Executor) throw new Error('different modules')
    console.log(JSON.stringify([typeof Executor.connect, ErrorCode.DATA, nativeVersion()]))
  `], { cwd: PACKAGE, encoding: 'utf8' })
  const [connect, data, version] = JSON.parse(out)
  assert.equal(connect, 'function')
  assert.equal(data, 'DATA')
  assert.equal(version, require('stateful-redis').nativeVersion())
})

test('the typings are generated, shipped and list every error code', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'))
  assert.equal(pkg.types, 'index.d.ts')
  assert.ok(pkg.files.includes('index.d.ts'))
  const dts = fs.readFileSync(path.join(PACKAGE, 'index.d.ts'), 'utf8')
  for (const code of Object.values(require('stateful-redis').ErrorCode)) {
    assert.match(dts, new RegExp(`${code} = '${code}'`))
  }
  for (const method of ['connect', 'close', 'setServiceState', 'getServiceState', 'setWorkloadState',
    'getWorkloadState', 'getWorkloadStates', 'setPodLoad', 'getPodLoads', 'setLinkedPod',
    'trySetLinkedPod', 'setLinkedPodIfAbsent', 'getLinkedPod', 'getLinkedPodIfPersist',
    'batchGetLinkedPod', 'removeLinkedPod', 'removeLinkedPodWithId', 'getLinkService',
    'computeLinkedPod']) {
    assert.match(dts, new RegExp(`\\b${method}\\(`), method)
  }
})

test('a TypeScript consumer compiles with tsc --strict --noEmit', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, 'types', 'tsconfig.json')], {
      cwd: PACKAGE, encoding: 'utf8', stdio: 'pipe',
    })
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`)
  }
})

test('worker threads: each loads the module, uses its own executor and exits cleanly', async () => {
  const { Worker } = require('node:worker_threads')
  const { harness } = require('./helpers')
  const h = await harness()
  try {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads')
      const { Executor } = require(workerData.pkg)
      Executor.connect({ url: workerData.url }).then(async (x) => {
        await x.setLinkedPod('w', 'u' + workerData.i, 'chat', workerData.i, -1)
        const pod = await x.getLinkedPod('w', 'u' + workerData.i, 'chat')
        x.onAlert(() => {})
        x.getLinkedPod('w', 'u', 'chat') // still in flight when the worker ends
        parentPort.postMessage(pod)
        // executor left open on purpose: the environment's teardown must cope
      })`
    const results = await Promise.all([1, 2, 3].map((i) => new Promise((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { pkg: PACKAGE, url: h.server.url, i } })
      let pod
      worker.on('message', (m) => { pod = m })
      worker.on('error', reject)
      worker.on('exit', (code) => (code === 0 ? resolve(pod) : reject(new Error(`worker exit ${code}`))))
    })))
    assert.deepEqual(results, [1, 2, 3])
    assert.equal(await h.exec.getLinkedPod('w', 'u2', 'chat'), 2, 'the main thread still works')
  } finally {
    await h.close()
  }
})

test('worker threads: terminate() with calls in flight does not crash the process', async () => {
  const { Worker } = require('node:worker_threads')
  const { harness } = require('./helpers')
  const h = await harness()
  try {
    const source = `
      const { parentPort, workerData } = require('node:worker_threads')
      const { Executor } = require(workerData.pkg)
      Executor.connect({ url: workerData.url }).then((x) => {
        x.onAlert(() => {})
        for (let i = 0; i < 2000; i++) x.setLinkedPod('t', 'u' + i, 'chat', 1, -1).catch(() => {})
        parentPort.postMessage('busy')
      })`
    for (let round = 0; round < 3; round++) {
      const worker = new Worker(source, { eval: true, workerData: { pkg: PACKAGE, url: h.server.url } })
      await new Promise((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
      })
      await worker.terminate()
    }
    assert.equal(await h.exec.setLinkedPod('t', 'after', 'chat', 4, -1), null, 'the main thread still works')
  } finally {
    await h.close()
  }
})
