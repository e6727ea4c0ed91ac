'use strict'
// CommonJS entry: loads the native module built for this platform (by `npm
// install`, see scripts/install.js) and re-exports it with the error classes of
// errors.js (every error thrown or rejected is an instance of them) and the
// DEBUG=stateful-redis convention of logging.js.
const { existsSync } = require('node:fs')
const { join } = require('node:path')
const { platformTriple } = require('./scripts/install.js')

const file = join(__dirname, `stateful-redis.${platformTriple()}.node`)
if (!existsSync(file)) {
  throw new Error(
    `stateful-redis: the native module ${file} is missing. It is built when the ` +
      'package is installed (needs Rust and cargo): run `npm rebuild stateful-redis`.'
  )
}
module.exports = require('./errors.js').packageExports(require(file))
require('./logging.js').applyDebugEnv(module.exports.setLogger)
