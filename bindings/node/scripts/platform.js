'use strict'
// The platform part of the native module's name, as napi-rs names it
// (`stateful-redis.<triple>.node`, package `stateful-redis-<triple>`):
// `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, `win32-x64-msvc`, ...
const { existsSync, readFileSync } = require('node:fs')

function isMusl() {
  if (process.platform !== 'linux') return false
  // ldd is a script that names its libc (napi-rs's first check too); the
  // process report is the fallback (slower: it lists every open handle).
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {
    try {
      return !process.report.getReport().header.glibcVersionRuntime
    } catch {
      return existsSync('/etc/alpine-release')
    }
  }
}

function platformTriple() {
  const { platform, arch } = process
  if (platform === 'linux') return `${platform}-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `${platform}-${arch}-msvc`
  return `${platform}-${arch}`
}

module.exports = { platformTriple }
