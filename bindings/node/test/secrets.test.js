'use strict'
// No password in any error (SPEC section 4, docs/secrets.md): whatever the shape
// of the password and the URL, through the options object, the URL and
// STATEFUL_REDIS_URL. `message`, `stack`, `cause` and `util.inspect(err)` are
// searched for the canary's "7Qz", so a percent-encoded copy counts as a leak too.
const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { startRedis, rejection } = require('./helpers')
const { Executor } = require('..')

const CANARY = 'Canary-7Qz!pw'
const MARK = '7Qz'
const NUMBER = '7731000000' // a password given as a number
const PASSWORDS = [CANARY, 'Can@ry-7Qz@pw', 'a:b/7Qz:c', 'x%40y-7Qz', 'has space 7Qz', '7Qz//x']

function textsOf(err) {
  const out = [String(err), util.inspect(err, { depth: 10 })]
  for (let e = err; e instanceof Error; e = e.cause) {
    out.push(e.message, e.stack, String(e.code), String(e.operation))
  }
  return out
}

/** Connects with `options` (expecting a failure) and checks every text of it. */
async function noCanary(options, label) {
  let err
  try {
    err = await rejection(Executor.connect(options))
  } catch (e) {
    err = e // thrown synchronously
  }
  assert.ok(err instanceof Error, `${label}: ${String(err)}`)
  for (const text of textsOf(err)) {
    assert.ok(!text.includes(MARK), `${label}: password printed: ${text}`)
    assert.ok(!text.includes(NUMBER), `${label}: number printed: ${text}`)
  }
  return err
}

function badUrls(pw) {
  return [
    `redis://u:${pw}@127.0.0.1:notaport`,
    `redis:/u:${pw}@127.0.0.1:6379`,
    `redis//u:${pw}@127.0.0.1:6379`,
    `redis:u:${pw}@127.0.0.1:6379`,
    `redis://:${pw}@127.0.0.1:bad`,
    `rediss://u:${pw}@127.0.0.1:bad`,
    `http://u:${pw}@127.0.0.1:6379`,
    `u:${pw}@127.0.0.1:6379`,
    `unix://?pass=${pw}`,
    `unix:relative?password=${pw}`,
  ]
}

test('bad URLs never print the password', async () => {
  for (const pw of PASSWORDS) {
    for (const url of badUrls(pw)) {
      await noCanary({ url, connectTimeoutMs: 300 }, url)
      await noCanary({ clusterNodes: ['redis://127.0.0.1:7000', url] }, `seed ${url}`)
    }
  }
})

test('options of the wrong type never print the value', async () => {
  const shapes = [
    { password: 7731000000 },
    { password: true },
    { password: [CANARY] },
    { password: { value: CANARY } },
    { password: Buffer.from(CANARY) },
    { password: 10n ** 30n },
    { password: Symbol(CANARY) },
    { password: () => CANARY },
    { database: CANARY },
    { connections: CANARY },
    { username: 'u', password: CANARY, connectTimeoutMs: CANARY },
    { retry: { maxAttempts: CANARY } },
    { keySchema: CANARY },
    { clusterNodes: `redis://u:${CANARY}@127.0.0.1:7000` },
    { clusterNodes: [7, CANARY] },
    { url: ['redis://h', CANARY] },
    { monitor: CANARY },
  ]
  for (const options of shapes) {
    const err = await noCanary(options, util.inspect(options))
    assert.equal(err.code, 'CONFIG', `${util.inspect(options)}: ${err.message}`)
  }
  const err = await noCanary({ password: 1234 }, 'password: 1234')
  assert.match(err.message, /`password`: .*a string/)
  assert.ok(!err.message.includes('1234'), err.message)
})

test('an unreachable server and a wrong password never print the password', async () => {
  const server = await startRedis(['--requirepass', 'the-right-one'])
  try {
    for (const pw of PASSWORDS) {
      const enc = encodeURIComponent(pw)
      let err = await noCanary({ url: server.url, password: pw }, `wrong ${pw}`)
      assert.equal(err.code, 'AUTH', err.message)
      err = await noCanary({ url: `redis://default:${enc}@127.0.0.1:${server.port}` }, `wrong url ${pw}`)
      assert.equal(err.code, 'AUTH', err.message)
      await noCanary({ url: `redis://u:${enc}@127.0.0.1:1`, connectTimeoutMs: 300 }, `refused ${pw}`)
      await noCanary({ url: 'redis://127.0.0.1:1', username: 'u', password: pw, connectTimeoutMs: 300 }, pw)
    }
  } finally {
    await server.stop()
  }
})

test('the URL from STATEFUL_REDIS_URL is scrubbed too', async () => {
  const saved = process.env.STATEFUL_REDIS_URL
  try {
    for (const url of badUrls(CANARY)) {
      process.env.STATEFUL_REDIS_URL = url
      await noCanary({ connectTimeoutMs: 300 }, `env ${url}`)
      await noCanary(undefined, `env ${url}, no options`)
    }
  } finally {
    if (saved === undefined) delete process.env.STATEFUL_REDIS_URL
    else process.env.STATEFUL_REDIS_URL = saved
  }
})
