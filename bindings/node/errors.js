'use strict'
// The error classes of this package, and the wrapping of the native Executor that
// makes every error it throws or rejects with an instance of them.
//
// The native module makes plain `Error`s with `.code`, `.retryable`,
// `.operation` and `.cause` (src/error.rs). Here each gets the class of its code
// (its prototype is swapped: message, properties and cause stay exactly as
// they are). A rejection gets the stack of the callers that await it: the
// native side settles promises from the event loop, where no caller's frame is
// left, so the wrapper awaits the promise itself and captures the stack in its
// catch, where V8's zero-cost async stack traces list every awaiting caller
// (`at async handler (app.js:12:5)`). Capturing a stack when each call is made
// would also serve `.then()` callers, but costs about 6 µs per call against
// about 0.1 µs for the await (docs/node.md, "Error classes").

/** Every error of this package: `.code`, `.retryable`, `.operation`, `.cause`. */
class StatefulRedisError extends Error {
  /**
   * @param {string} message
   * @param {{code?: string, retryable?: boolean, operation?: string, cause?: unknown}} [options]
   */
  constructor(message, options = {}) {
    super(message)
    this.code = options.code ?? new.target.code ?? 'INTERNAL'
    this.retryable = options.retryable ?? false
    this.operation = options.operation ?? ''
    if (options.cause !== undefined) this.cause = options.cause
  }
}

/** The class of each code, in the order of SPEC section 4. */
const CLASS_NAMES = {
  INVALID_ARGUMENT: 'InvalidArgumentError',
  CONFIG: 'ConfigError',
  CONNECTION: 'ConnectionError',
  TIMEOUT: 'TimeoutError',
  AUTH: 'AuthError',
  SCRIPT: 'ScriptError',
  CLUSTER: 'ClusterError',
  BUSY: 'BusyError',
  DATA: 'DataError',
  CLOSED: 'ClosedError',
  INTERNAL: 'InternalError',
}

/** `name` on the prototype, as for the built-in errors (not an own property). */
function nameClass(cls, name) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true })
}
nameClass(StatefulRedisError, 'StatefulRedisError')

const classes = { StatefulRedisError }
const classByCode = new Map()
for (const [code, name] of Object.entries(CLASS_NAMES)) {
  // A named class expression per code: `class TimeoutError extends StatefulRedisError`.
  const cls = { [name]: class extends StatefulRedisError {} }[name]
  Object.defineProperty(cls, 'code', { value: code, enumerable: true })
  nameClass(cls, name)
  classes[name] = cls
  classByCode.set(code, cls)
}

/** Gives a native error the class of its code (in place); other values pass. */
function classify(error) {
  if (error instanceof Error && !(error instanceof StatefulRedisError)) {
    const cls = classByCode.get(error.code)
    if (cls !== undefined) Object.setPrototypeOf(error, cls.prototype)
  }
  return error
}

/**
 * Awaits a native promise; a rejection gets the class of its code and the stack
 * of the callers awaiting it (V8's async stack traces: `at async <caller>`).
 */
async function settle(promise) {
  try {
    return await promise
  } catch (e) {
    if (classify(e) instanceof StatefulRedisError) Error.captureStackTrace(e, settle)
    throw e
  }
}

/** Marks a native prototype whose methods are wrapped. */
const WRAPPED = Symbol.for('stateful-redis.wrapped')

function wrapSync(native) {
  const wrapped = function (...args) {
    try {
      return native.apply(this, args)
    } catch (e) {
      if (classify(e) instanceof StatefulRedisError) Error.captureStackTrace(e, wrapped)
      throw e
    }
  }
  return wrapped
}

// One wrapper for every method: a method that returns a promise has it settled
// (its rejection classed, with the awaiting callers' stack); one that returns a
// value (close, recordOperation, removeAlert, ...) returns it as it is, so no
// list of which method is which can fall behind the native class.
function wrapMethod(native) {
  const wrapped = function (...args) {
    let result
    try {
      result = native.apply(this, args)
    } catch (e) {
      // Thrown during the call (a sync method, or Node-API refused the receiver).
      if (classify(e) instanceof StatefulRedisError) Error.captureStackTrace(e, wrapped)
      throw e
    }
    return result instanceof Promise ? settle(result) : result
  }
  return wrapped
}

/**
 * The package's `Executor`: the native class with its methods wrapped in place,
 * behind a constructor function that shares its prototype (so `instanceof`
 * holds for the executors `connect` makes) and has a wrapped `connect` (the
 * native class's own static `connect` cannot be redefined).
 */
function wrapExecutor(Native) {
  const proto = Native.prototype
  // Once per class, even if this file is loaded twice (a cleared require cache).
  const alreadyWrapped = Object.prototype.hasOwnProperty.call(proto, WRAPPED)
  Object.defineProperty(proto, WRAPPED, { value: true })
  for (const name of alreadyWrapped ? [] : Object.getOwnPropertyNames(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name)
    if (name === 'constructor' || typeof descriptor.value !== 'function') continue
    Object.defineProperty(proto, name, { ...descriptor, value: nameFunction(wrapMethod(descriptor.value), name) })
  }
  // Refused by the native constructor as before: executors come from connect.
  const Executor = function Executor(...args) {
    return Reflect.construct(Native, args, new.target ?? Native)
  }
  Executor.prototype = proto
  Object.setPrototypeOf(Executor, Native)
  Object.defineProperty(Executor, 'connect', {
    value: nameFunction(wrapMethod(Native.connect), 'connect'),
    writable: true,
    configurable: true,
  })
  return Executor
}

/** Keeps the native method's name (stack frames read `Executor.getLinkedPod`). */
function nameFunction(fn, name) {
  Object.defineProperty(fn, 'name', { value: name })
  return fn
}

/** Wraps a throwing native function (such as setLogger). */
function wrapFunction(native, name) {
  return nameFunction(wrapSync(native), name)
}

/**
 * The package's exports: the native module's, its Executor wrapped, setLogger
 * wrapped, and the error classes.
 */
function packageExports(native) {
  const exports = { ...native, ...classes }
  exports.Executor = wrapExecutor(native.Executor)
  exports.setLogger = wrapFunction(native.setLogger, 'setLogger')
  return exports
}

module.exports = { ...classes, classify, wrapExecutor, wrapFunction, packageExports }
