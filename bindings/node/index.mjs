// ES module entry: the same native module as the CommonJS entry.
import { createRequire } from 'node:module'

const native = createRequire(import.meta.url)('./index.js')

export default native
export const {
  Executor,
  ErrorCode,
  nativeVersion,
  setLogger,
  registerMetrics,
  StatefulRedisMetricProducer,
  observeMetrics,
  StatefulRedisError,
  InvalidArgumentError,
  ConfigError,
  ConnectionError,
  TimeoutError,
  AuthError,
  ScriptError,
  ClusterError,
  BusyError,
  DataError,
  ClosedError,
  InternalError,
} = native
