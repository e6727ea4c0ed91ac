'use strict'
// The event-loop connection (the default): what a caller depends on when the
// connection whose I/O runs on the JS thread is lost.
const test = require('node:test')
const assert = require('node:assert/strict')
const { harness, NS } = require('./helpers')

/** CLIENT LIST lines of the clients named `name`, oldest first. */
async function named(raw, name) {
  const lines = (await raw.call('CLIENT', 'LIST')).split('\n').filter((l) => l.includes(` name=${name} `))
  const id = (line) => Number(/^id=(\d+) /.exec(line)[1])
  return lines.sort((a, b) => id(a) - id(b)).map((line) => ({ id: id(line), line }))
}

test('the event-loop connection killed while idle: no write is lost, and it comes back named', async (t) => {
  const h = await harness({ clientName: 'loop-kill' })
  t.after(() => h.close())
  const x = h.exec
  assert.equal(await x.setLinkedPod(NS, 'k', 'chat', 1, -1), null)
  const before = await named(h.raw, 'loop-kill')
  assert.equal(before.length, 2, before.map((c) => c.line).join('\n'))
  const reconnects = (await x.metrics()).pool.reconnects
  // The newest is the event-loop connection (opened after the shared one).
  await h.raw.call('CLIENT', 'KILL', 'ID', String(before[1].id))
  await new Promise((resolve) => setTimeout(resolve, 50))
  // Found closed before it is used: the write goes on the shared connection
  // (its completion wakes the JS thread from the core's thread) and answers
  // with the pod it replaced, not "outcome unknown".
  assert.equal(await x.setLinkedPod(NS, 'k', 'chat', 2, -1), 1)
  // Re-opened on the core's runtime; calls go on it again.
  let after = []
  for (let i = 0; i < 500; i++) {
    assert.equal(await x.getLinkedPod(NS, 'k', 'chat'), 2)
    after = await named(h.raw, 'loop-kill')
    if (after.length === 2 && after[1].id > before[1].id && !after[1].line.includes(' cmd=client|setname ')) break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  assert.equal(after.length, 2, after.map((c) => c.line).join('\n'))
  assert.ok(after[1].id > before[1].id, 'a new connection')
  assert.ok(!after[1].line.includes(' cmd=client|setname '), `it serves the calls: ${after[1].line}`)
  assert.equal((await x.metrics()).pool.reconnects, reconnects + 1)
  // 1,000 calls in flight on the new connection, each with its own answer.
  const pods = await Promise.all(Array.from({ length: 1000 }, (_, i) => x.setLinkedPod(NS, `n${i}`, 'chat', i, -1).then(() => x.getLinkedPod(NS, `n${i}`, 'chat'))))
  assert.ok(pods.every((pod, i) => pod === i))
})

test('a call timed out on the event-loop connection leaves its late reply to nobody else', async (t) => {
  const h = await harness({ commandTimeoutMs: 500 })
  t.after(() => h.close())
  const x = h.exec
  assert.equal(await x.setLinkedPod(NS, 't', 'chat', 1, -1), null)
  await h.raw.call('CLIENT', 'PAUSE', '2500', 'WRITE')
  const started = Date.now()
  const held = await x.setLinkedPod(NS, 't', 'chat', 9, -1).then(() => null, (e) => e)
  assert.ok(held, 'the held write failed')
  assert.equal(held.code, 'TIMEOUT', held.message)
  assert.equal(held.retryable, false)
  assert.ok(Date.now() - started < 2400, 'it ended before the pause did')
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 2600 - (Date.now() - started))))
  // The held write ran when the pause ended; each later call reads its own answer.
  assert.equal(await x.getLinkedPod(NS, 't', 'chat'), 9)
  assert.equal(await x.setLinkedPod(NS, 't', 'chat', 3, -1), 9)
  assert.equal(await x.getLinkedPod(NS, 't', 'chat'), 3)
})
