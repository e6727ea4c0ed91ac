'use strict'
// `npm pack` hooks of the platform packages (npm/<platform>/, napi-rs's layout:
// one package per platform holding only its `stateful-redis.<platform>.node`).
// prepack refuses to pack a package without its module (a platform package
// without it would install and then fail to load) and copies the repository's
// LICENSE in; `--clean` (postpack) removes that copy. Runs in the platform
// package's folder: `node ../../scripts/platform-package.js [--clean]`.
const fs = require('node:fs')
const path = require('node:path')

const PLATFORM_DIR = process.cwd()
const REPO = path.join(__dirname, '..', '..', '..')
const LICENSE = path.join(PLATFORM_DIR, 'LICENSE')

function main() {
  fs.rmSync(LICENSE, { force: true })
  if (process.argv.includes('--clean')) return
  const manifest = JSON.parse(fs.readFileSync(path.join(PLATFORM_DIR, 'package.json'), 'utf8'))
  const module = path.join(PLATFORM_DIR, manifest.main)
  if (!fs.existsSync(module)) {
    throw new Error(`${manifest.name}: ${manifest.main} is missing: build it (\`napi build --platform --release ` +
      '--strip --target <triple>`) and move it here (`napi artifacts`) before packing')
  }
  fs.copyFileSync(path.join(REPO, 'LICENSE'), LICENSE)
}

if (require.main === module) {
  try {
    main()
  } catch (e) {
    console.error(e.message)
    process.exit(1)
  }
}
