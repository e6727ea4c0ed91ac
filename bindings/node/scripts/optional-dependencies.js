'use strict'
// `npm pack` / `npm publish` hooks of the main package: writes its
// optionalDependencies (napi-rs's layout: one platform package per folder of
// npm/, each `stateful-redis-<platform>` at this package's version, as `napi
// prepublish` writes them) into package.json for the tarball; `--clean`
// (postpack) puts the committed package.json back.
//
// They are not committed: the platform packages are published with this one, so
// a checkout's lockfile cannot list them before a release, and `npm ci` refuses
// a package.json whose dependencies the lockfile lacks.
const fs = require('node:fs')
const path = require('node:path')

const PACKAGE_DIR = path.join(__dirname, '..')
const MANIFEST = path.join(PACKAGE_DIR, 'package.json')
// The committed text, kept while the pack runs.
const COMMITTED = path.join(PACKAGE_DIR, '.package.json.committed')

/** `{name: version}` of the platform packages, checked against napi.targets. */
function platformPackages(manifest) {
  const npmDir = path.join(PACKAGE_DIR, 'npm')
  const names = fs.readdirSync(npmDir).filter((d) => fs.existsSync(path.join(npmDir, d, 'package.json'))).sort()
  const dependencies = {}
  for (const dir of names) {
    const platform = JSON.parse(fs.readFileSync(path.join(npmDir, dir, 'package.json'), 'utf8'))
    if (platform.name !== `${manifest.name}-${dir}`) {
      throw new Error(`npm/${dir}/package.json is named ${platform.name}, not ${manifest.name}-${dir}`)
    }
    if (platform.version !== manifest.version) {
      throw new Error(`npm/${dir} is version ${platform.version}, ${manifest.name} is ${manifest.version} (napi version syncs them)`)
    }
    dependencies[platform.name] = manifest.version
  }
  if (names.length !== manifest.napi.targets.length) {
    throw new Error(`npm/ holds ${names.length} platform packages, napi.targets names ${manifest.napi.targets.length} ` +
      '(napi create-npm-dirs makes the missing ones)')
  }
  return dependencies
}

function main() {
  if (fs.existsSync(COMMITTED)) {
    // a previous pack that did not finish: start from the committed text
    fs.copyFileSync(COMMITTED, MANIFEST)
    fs.rmSync(COMMITTED)
  }
  if (process.argv.includes('--clean')) return
  const text = fs.readFileSync(MANIFEST, 'utf8')
  const manifest = JSON.parse(text)
  manifest.optionalDependencies = { ...manifest.optionalDependencies, ...platformPackages(manifest) }
  fs.writeFileSync(COMMITTED, text)
  fs.writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2) + '\n')
}

if (require.main === module) {
  try {
    main()
  } catch (e) {
    console.error(e.message)
    process.exit(1)
  }
}
