'use strict'
// Builds the native module from source with cargo (release profile), for a
// platform without a prebuilt package, or a checkout (contributors usually run
// `npm run build`, which also regenerates the typings). Not an install hook: the
// package installs without Rust (docs/packaging.md); run it by hand:
//
//   node node_modules/stateful-redis/scripts/build-native.js
//
// It builds from the repository checkout (../../) or, in a packed tarball, from
// the sources vendored under rust/ by scripts/vendor.js, and copies the library
// next to index.js as `stateful-redis.<platform>.node`, which the loader prefers
// to the platform package. An existing module is kept unless
// STATEFUL_REDIS_FORCE_BUILD=1.
const { spawnSync } = require('node:child_process')
const { copyFileSync, existsSync, readFileSync } = require('node:fs')
const { join } = require('node:path')
const { platformTriple } = require('./platform.js')

const PACKAGE_DIR = join(__dirname, '..')
const CRATE = 'stateful-redis-node'

function nativePath() {
  return join(PACKAGE_DIR, `stateful-redis.${platformTriple()}.node`)
}

/** The Cargo workspace to build from. */
function workspaceRoot() {
  const checkout = join(PACKAGE_DIR, '..', '..')
  const manifest = join(checkout, 'Cargo.toml')
  if (existsSync(manifest) && existsSync(join(checkout, 'core', 'Cargo.toml'))) {
    if (readFileSync(manifest, 'utf8').includes('[workspace]')) return checkout
  }
  const vendored = join(PACKAGE_DIR, 'rust')
  if (existsSync(join(vendored, 'Cargo.toml'))) return vendored
  return null
}

/** rustc's host triple (`x86_64-unknown-linux-gnu`), or null when rustc cannot say. */
function hostTriple() {
  const result = spawnSync(process.env.RUSTC || 'rustc', ['-vV'], { encoding: 'utf8' })
  if (result.status !== 0 || !result.stdout) return null
  const line = result.stdout.split('\n').find((l) => l.startsWith('host: '))
  return line ? line.slice('host: '.length).trim() : null
}

function build() {
  const root = workspaceRoot()
  if (!root) {
    throw new Error('stateful-redis: no Rust sources to build the native module for ' + platformTriple() + ' from')
  }
  const cargo = process.env.CARGO || 'cargo'
  console.error(`stateful-redis: building the native module with ${cargo} (release) in ${root}`)
  // An explicit --target, as `napi build --platform` passes: the build then
  // shares CARGO_TARGET_DIR's <triple>/release with the napi-rs CLI's builds
  // instead of compiling every dependency again into release/.
  const target = hostTriple()
  const result = spawnSync(cargo, [
    'build', '--release', '-p', CRATE,
    ...(target ? ['--target', target] : []),
    '--manifest-path', join(root, 'Cargo.toml'),
    '--message-format=json-render-diagnostics',
  ], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 })
  if (result.error) {
    throw new Error(`stateful-redis: cannot run ${cargo} (Rust is needed to build the native module): ${result.error.message}`)
  }
  if (result.status !== 0) throw new Error(`stateful-redis: cargo build failed (exit ${result.status})`)
  let library = null
  for (const line of result.stdout.toString().split('\n')) {
    if (!line.startsWith('{')) continue
    const message = JSON.parse(line)
    if (message.reason === 'compiler-artifact' && message.target && message.target.name === CRATE.replace(/-/g, '_')) {
      library = message.filenames.find((f) => /\.(so|dylib|dll)$/.test(f)) || library
    }
  }
  if (!library) throw new Error('stateful-redis: cargo did not report the native library')
  copyFileSync(library, nativePath())
  console.error(`stateful-redis: installed ${nativePath()}`)
}

function main() {
  if (existsSync(nativePath()) && !process.env.STATEFUL_REDIS_FORCE_BUILD) return
  build()
}

if (require.main === module) {
  try {
    main()
  } catch (e) {
    console.error(e.message)
    process.exit(1)
  }
}
