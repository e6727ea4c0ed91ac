'use strict'
// CommonJS entry: loads the native module for this platform and re-exports it
// unchanged. Where it comes from (napi-rs's layout, docs/packaging.md):
//   1. `stateful-redis.<platform>.node` next to this file: a build from source
//      (`npm run build` in a checkout, or scripts/build-native.js);
//   2. the platform package `stateful-redis-<platform>`: one of this package's
//      optionalDependencies, of which npm installs only the one whose os, cpu
//      and libc fit the machine.
// It re-exports it with the error classes of errors.js (every error thrown or
// rejected is an instance of them) and the DEBUG=stateful-redis convention of
// logging.js.
const { existsSync } = require('node:fs')
const { join } = require('node:path')
const { platformTriple } = require('./scripts/platform.js')

const PACKAGE_NAME = 'stateful-redis'

function loadNative() {
  const triple = platformTriple()
  const local = join(__dirname, `${PACKAGE_NAME}.${triple}.node`)
  if (existsSync(local)) return require(local)
  const platformPackage = `${PACKAGE_NAME}-${triple}`
  let version
  try {
    version = require(`${platformPackage}/package.json`).version
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e
    throw new Error(
      `${PACKAGE_NAME}: no native module for ${triple}: the package ${platformPackage} is not ` +
        'installed (an optional dependency: `--omit=optional` or `--no-optional` leave it out; ' +
        'reinstall without them). In a checkout, build it: `npm run build`. Where no prebuilt package ' +
        'exists, build it from the sources in this package (needs Rust and cargo): ' +
        `node ${join(__dirname, 'scripts', 'build-native.js')}`
    )
  }
  const expected = require('./package.json').version
  if (version !== expected) {
    throw new Error(`${PACKAGE_NAME}: ${platformPackage} is version ${version}, ${PACKAGE_NAME} is ${expected}: ` +
      'install the same version of both')
  }
  return require(platformPackage)
}

module.exports = require('./errors.js').packageExports(loadNative())
module.exports.registerMetrics = require('./prometheus.js').registerMetrics
module.exports.StatefulRedisMetricProducer = require('./otel.js').StatefulRedisMetricProducer
module.exports.observeMetrics = require('./otel.js').observeMetrics
require('./logging.js').applyDebugEnv(module.exports.setLogger)
