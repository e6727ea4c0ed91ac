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
