'use strict'
// `npm pack` hooks: copies the Rust sources the native module is built from into
// rust/ (a self-contained Cargo workspace: the core and this crate, with the
// repository's Cargo.lock), so that the module can be built from the tarball
// where no platform package fits (scripts/build-native.js, run by hand), and
// the repository's LICENSE into the package. `--clean` removes both copies.
//
// Only the libraries are vendored (`src/`): the crates' manifests are rewritten
// without their tests, benches, examples and dev-dependencies, which cargo would
// otherwise look for ("can't find `monitor` bench at `benches/monitor.rs`").
const fs = require('node:fs')
const path = require('node:path')

const PACKAGE_DIR = path.join(__dirname, '..')
const REPO = path.join(PACKAGE_DIR, '..', '..')
const OUT = path.join(PACKAGE_DIR, 'rust')
const LICENSE = path.join(PACKAGE_DIR, 'LICENSE')

/**
 * A crate manifest reduced to what building its library needs: the tables
 * `[[bench]]`, `[[test]]`, `[[example]]`, `[dev-dependencies]` (also under
 * `[target.'...']`) are dropped, and `[package]` turns off the discovery of
 * tests, benches and examples. Line-based: a table runs from its header to the
 * next header (Cargo.toml files here use no multi-line arrays that hold `[` at
 * the start of a line).
 */
function libraryOnlyManifest(text, name) {
  const dropped = /^\[\[(bench|test|example)\]\]\s*$|^\[(target\..*\.)?dev-dependencies(\..*)?\]\s*$/
  const out = []
  let keep = true
  let sawPackage = false
  for (const line of text.split('\n')) {
    if (/^\s*\[/.test(line)) {
      keep = !dropped.test(line.trim())
      if (keep && line.trim() === '[package]') {
        out.push(line, 'autotests = false', 'autobenches = false', 'autoexamples = false')
        sawPackage = true
        continue
      }
    }
    if (keep) out.push(line)
  }
  if (!sawPackage) throw new Error(`vendor: no [package] table in ${name}`)
  for (const key of ['autotests', 'autobenches', 'autoexamples']) {
    const count = out.filter((l) => l.startsWith(`${key} =`)).length
    if (count !== 1) throw new Error(`vendor: ${name} already sets ${key}; update scripts/vendor.js`)
  }
  return `# Vendored by bindings/node/scripts/vendor.js: the library only.\n${out.join('\n')}`
}

function main() {
  fs.rmSync(OUT, { recursive: true, force: true })
  fs.rmSync(LICENSE, { force: true })
  if (process.argv.includes('--clean')) return

  const copy = (from, to) =>
    fs.cpSync(path.join(REPO, from), path.join(OUT, to ?? from), { recursive: true })
  const crate = (dir) => {
    const name = path.join(dir, 'Cargo.toml')
    fs.mkdirSync(path.join(OUT, dir), { recursive: true })
    fs.writeFileSync(path.join(OUT, name), libraryOnlyManifest(fs.readFileSync(path.join(REPO, name), 'utf8'), name))
    copy(path.join(dir, 'src'))
  }

  const manifest = fs.readFileSync(path.join(REPO, 'Cargo.toml'), 'utf8')
  const members = /^members\s*=\s*\[[^\]]*\]/m
  if (!members.test(manifest)) throw new Error('vendor: no workspace members line in Cargo.toml')
  fs.mkdirSync(OUT, { recursive: true })
  fs.writeFileSync(
    path.join(OUT, 'Cargo.toml'),
    '# Vendored by bindings/node/scripts/vendor.js from the repository\'s Cargo.toml.\n' +
      manifest.replace(members, 'members = ["core", "bindings/node"]')
  )
  copy('Cargo.lock')
  crate('core')
  crate(path.join('bindings', 'node'))
  copy(path.join('bindings', 'node', 'build.rs'))
  fs.copyFileSync(path.join(REPO, 'LICENSE'), LICENSE)
  console.error(`vendored the Rust sources into ${OUT}`)
}

module.exports = { libraryOnlyManifest }

if (require.main === module) main()
