'use strict'
// The `debug` package's convention for the core's log events: when the DEBUG
// environment variable names `stateful-redis` (`DEBUG=stateful-redis`,
// `DEBUG=stateful-*`, `DEBUG=*`; `-stateful-redis` excludes it), every event at
// `debug` and more severe is printed to stderr until the program sets a logger
// of its own with setLogger. See docs/logging.md.

const NAMESPACE = 'stateful-redis'

/** Whether a DEBUG value enables NAMESPACE (patterns split by commas or spaces). */
function debugEnabled(value) {
  let enabled = false
  for (const pattern of String(value ?? '').split(/[\s,]+/)) {
    if (pattern === '') continue
    const negated = pattern.startsWith('-')
    const glob = negated ? pattern.slice(1) : pattern
    const regex = new RegExp('^' + glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$')
    if (regex.test(NAMESPACE)) {
      if (negated) return false
      enabled = true
    }
  }
  return enabled
}

/** Prints one event to stderr: `stateful-redis WARN stateful_redis::monitor alert firing: ...`. */
function stderrLogger(event) {
  process.stderr.write(`${NAMESPACE} ${event.level.toUpperCase()} ${event.target} ${event.message}\n`)
}

/** Installs the stderr logger when DEBUG asks for it. */
function applyDebugEnv(setLogger, value = process.env.DEBUG) {
  if (debugEnabled(value)) setLogger(stderrLogger, 'debug')
}

module.exports = { debugEnabled, stderrLogger, applyDebugEnv }
