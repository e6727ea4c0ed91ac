'use strict'
// `npm pack` hooks: copies the Rust sources the native module is built from into
// rust/ (a self-contained Cargo workspace: the core and this crate, with the
// repository's Cargo.lock), so that installing the tarball can build the module
// where no prebuilt one fits (scripts/install.js). `--clean` removes the copy.
const fs = require('node:fs')
const path = require('node:path')

const PACKAGE_DIR = path.join(__dirname, '..')
const REPO = path.join(PACKAGE_DIR, '..', '..')
const OUT = path.join(PACKAGE_DIR, 'rust')

fs.rmSync(OUT, { recursive: true, force: true })
if (process.argv.includes('--clean')) process.exit(0)

function copy(from, to) {
  fs.cpSync(path.join(REPO, from), path.join(OUT, to ?? from), { recursive: true })
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
copy('core/Cargo.toml')
copy('core/src')
for (const item of ['Cargo.toml', 'build.rs', 'src']) copy(path.join('bindings', 'node', item))
console.error(`vendored the Rust sources into ${OUT}`)
