'use strict'
// Every operation through the JS API: JS types of arguments and results, and the
// behaviours a Node caller relies on (the vectors check the semantics in depth).
const test = require('node:test')
const assert = require('node:assert/strict')
const { harness, rejection, NS } = require('./helpers')

test('operations', async (t) => {
  const h = await harness()
  t.after(() => h.close())
  const x = h.exec

  await t.test('pod and workload state', async () => {
    assert.equal(await x.setServiceState(NS, 'game', 1, 'online'), undefined)
    await x.setServiceState(NS, 'game', 2, 'draining')
    await h.raw.hset(`sf:{${NS}:state:game}`, 'not-a-pod', 'x')
    assert.deepEqual(await x.getServiceState(NS, 'game'), { 1: 'online', 2: 'draining' })
    assert.deepEqual(await x.getServiceState(NS, 'none'), {})
    assert.equal(await x.getWorkloadState(NS, 'game'), null)
    assert.equal(await x.setWorkloadState(NS, 'game', 'open'), undefined)
    assert.equal(await x.getWorkloadState(NS, 'game'), 'open')
    await x.setWorkloadState(NS, 'chat', 'closed')
    assert.deepEqual(await x.getWorkloadStates(NS, ['game', 'absent', 'chat']), { game: 'open', chat: 'closed' })
    assert.deepEqual(await x.getWorkloadStates(NS, []), {})
  })

  await t.test('pod loads', async () => {
    const stamp = await x.setPodLoad(NS, 'route', 7, 12, 1)
    assert.equal(typeof stamp, 'number')
    assert.ok(Math.abs(stamp - Date.now()) < 60_000, `server clock ${stamp}`)
    await x.setPodLoad(NS, 'route', 8, 3, 0)
    const loads = await x.getPodLoads(NS, 'route')
    assert.deepEqual(Object.keys(loads), ['7', '8'])
    assert.deepEqual(loads['7'], { load: 12, state: 1, updatedMs: stamp })
    assert.deepEqual(await x.getPodLoads(NS, 'route', stamp + 60_000), {})
    assert.equal(Object.keys(await x.getPodLoads(NS, 'route', null)).length, 2)
    assert.equal(Object.keys(await x.getPodLoads(NS, 'route', undefined)).length, 2)
  })

  await t.test('links', async () => {
    assert.equal(await x.setLinkedPod(NS, 'u1', 'chat', 3, -1), null)
    assert.equal(await x.setLinkedPod(NS, 'u1', 'chat', 4, -1), 3)
    assert.equal(await x.getLinkedPod(NS, 'u1', 'chat'), 4)
    assert.equal(await x.getLinkedPodIfPersist(NS, 'u1', 'chat'), 4)
    assert.deepEqual(await x.trySetLinkedPod(NS, 'u1', 'chat', 5, -1), { ok: false, pod: 4 })
    assert.deepEqual(await x.trySetLinkedPod(NS, 'u2', 'chat', 5, 300), { ok: true, pod: 5 })
    assert.equal(await x.getLinkedPodIfPersist(NS, 'u2', 'chat'), null)
    assert.equal(await x.getLinkedPod(NS, 'u2', 'chat'), 5)
    const ttl = await h.raw.ttl(`sf:{${NS}:lk:u2}chat`)
    assert.ok(ttl > 290 && ttl <= 300, `ttl ${ttl}`)
    assert.equal(await x.setLinkedPodIfAbsent(NS, 'u2', 'chat', 9, -1), 5)
    assert.equal(await x.setLinkedPodIfAbsent(NS, 'u3', 'chat', 9, -1), 9)
    assert.deepEqual(await x.getLinkService(NS, 'u1'), { chat: 4 })
    await x.setLinkedPod(NS, 'u1', 'game', 0, -1)
    assert.deepEqual(await x.getLinkService(NS, 'u1'), { chat: 4, game: 0 })
    assert.deepEqual(await x.getLinkService(NS, 'nobody'), {})
  })

  await t.test('batch reads keep the input order', async () => {
    const uids = []
    for (let i = 0; i < 2500; i++) uids.push(`b${(i * 7919) % 2500}`)
    await Promise.all(uids.map((uid, i) => x.setLinkedPod(NS, uid, 'batch', i % 3, -1)))
    const byPod = await x.batchGetLinkedPod(NS, [...uids, 'missing'], 'batch')
    assert.deepEqual(Object.keys(byPod), ['0', '1', '2'])
    for (let pod = 0; pod < 3; pod++) {
      assert.deepEqual(byPod[pod], uids.filter((_, i) => i % 3 === pod))
    }
    assert.deepEqual(await x.batchGetLinkedPod(NS, [], 'batch'), {})
  })

  await t.test('removal', async () => {
    await x.setLinkedPod(NS, 'r1', 'chat', 2, -1)
    assert.equal(await x.removeLinkedPodWithId(NS, 'r1', 'chat', -1, 3), false)
    assert.equal(await x.getLinkedPod(NS, 'r1', 'chat'), 2)
    assert.equal(await x.removeLinkedPod(NS, 'r1', 'chat', 60), true)
    assert.equal(await x.getLinkedPod(NS, 'r1', 'chat'), 2, 'kept for 60 s as a temporary link')
    assert.equal(await x.getLinkedPodIfPersist(NS, 'r1', 'chat'), null)
    assert.deepEqual(await x.getLinkService(NS, 'r1'), {})
    assert.equal(await x.removeLinkedPodWithId(NS, 'r1', 'chat', -1, 2), true)
    assert.equal(await x.getLinkedPod(NS, 'r1', 'chat'), null)
    assert.equal(await x.removeLinkedPod(NS, 'r1', 'chat', -1), false)
  })

  await t.test('computeLinkedPod', async () => {
    assert.equal(await x.computeLinkedPod(NS, 'c1', 'empty', -1), null)
    await x.setPodLoad(NS, 'pick', 1, 50, 0)
    await x.setPodLoad(NS, 'pick', 2, 10, 3)
    await x.setPodLoad(NS, 'pick', 3, 20, 0)
    assert.equal(await x.computeLinkedPod(NS, 'c1', 'pick', -1, { maxAgeMs: 60_000, maxState: 1 }), 3)
    assert.equal(await x.computeLinkedPod(NS, 'c1', 'pick', -1), 3, 'an existing link wins')
    assert.equal(await x.computeLinkedPod(NS, 'c2', 'pick', 120, null), 2)
    assert.equal(await x.computeLinkedPod(NS, 'c3', 'pick', 120, { max_age_ms: 60_000 }), 2, 'snake_case keys too')
    assert.equal(await x.computeLinkedPod(NS, 'c4', 'pick', -1, { maxState: -1 }), null)
  })
})

test('error paths', async (t) => {
  const h = await harness()
  t.after(() => h.close())
  const x = h.exec

  await t.test('wrong JS types reject with INVALID_ARGUMENT before anything is sent', async () => {
    await h.raw.flushall()
    const cases = [
      () => x.setLinkedPod(NS, 'u', 'chat', '3', -1),
      () => x.setLinkedPod(NS, 'u', 'chat', 1.5, -1),
      () => x.setLinkedPod(NS, 'u', 'chat', NaN, -1),
      () => x.setLinkedPod(NS, 'u', 'chat', Infinity, -1),
      () => x.setLinkedPod(NS, 'u', 'chat', 2 ** 53, -1),
      () => x.setLinkedPod(NS, 'u', 'chat', 3n, -1),
      () => x.setLinkedPod(NS, 'u', 'chat', 3),
      () => x.setLinkedPod(NS, 'u', 'chat'),
      () => x.setLinkedPod(NS, { toString: () => 'u' }, 'chat', 3, -1),
      () => x.setLinkedPod(null, 'u', 'chat', 3, -1),
      () => x.setLinkedPod(NS, Symbol('u'), 'chat', 3, -1),
      () => x.trySetLinkedPod(NS, 'u', 'chat', 1, '-1'),
      () => x.setLinkedPodIfAbsent(NS, 'u', 'chat', true, -1),
      () => x.getLinkedPod(NS, ['u'], 'chat'),
      () => x.getLinkedPodIfPersist(NS, 'u', 7),
      () => x.batchGetLinkedPod(NS, 'u1', 'chat'),
      () => x.batchGetLinkedPod(NS, ['u1', 2], 'chat'),
      () => x.batchGetLinkedPod(NS, { length: 1, 0: 'u1' }, 'chat'),
      () => x.removeLinkedPod(NS, 'u', 'chat', true),
      () => x.removeLinkedPodWithId(NS, 'u', 'chat', -1, null),
      () => x.getLinkService(NS, 1),
      () => x.computeLinkedPod(NS, 'u', 'chat', -1, 'fast'),
      () => x.computeLinkedPod(NS, 'u', 'chat', -1, { maxAgeMs: 'soon' }),
      () => x.computeLinkedPod(NS, 'u', 'chat', -1, { unknownKey: 1 }),
      () => x.setServiceState(NS, 'svc', 1, 5),
      () => x.getServiceState(NS, undefined),
      () => x.setWorkloadState(NS, 'svc', null),
      () => x.getWorkloadState(1, 'svc'),
      () => x.getWorkloadStates(NS, 'svc'),
      () => x.getWorkloadStates(NS, [null]),
      () => x.setPodLoad(NS, 'svc', 1, '5', 0),
      () => x.getPodLoads(NS, 'svc', '1000'),
    ]
    for (const [i, call] of cases.entries()) {
      let promise
      assert.doesNotThrow(() => { promise = call() }, `case ${i} threw synchronously`)
      assert.ok(promise instanceof Promise, `case ${i} returns a promise`)
      const e = await rejection(promise)
      assert.ok(e instanceof Error, `case ${i}`)
      assert.equal(e.code, 'INVALID_ARGUMENT', `case ${i}: ${e.message}`)
      assert.equal(e.retryable, false)
      assert.match(e.operation, /^[a-z_]+$/)
    }
    assert.equal(await h.raw.dbsize(), 0, 'nothing was written')
  })

  await t.test('range errors from the core', async () => {
    const e = await rejection(x.setLinkedPod(NS, 'u', 'chat', -1, -1))
    assert.equal(e.code, 'INVALID_ARGUMENT')
    assert.equal(e.operation, 'set_linked_pod')
    assert.match(e.message, /pod/)
  })

  await t.test('DATA names the key', async () => {
    await h.raw.set(`sf:{${NS}:lk:bad}chat`, 'not-a-pod')
    const e = await rejection(x.getLinkedPod(NS, 'bad', 'chat'))
    assert.equal(e.code, 'DATA')
    assert.equal(e.retryable, false)
    assert.match(e.message, /lk:bad/)
  })

  await t.test('TIMEOUT: a call never waits past commandTimeoutMs', async () => {
    const slow = await require('..').Executor.connect({ url: h.server.url, commandTimeoutMs: 100 })
    const sleeping = h.raw.call('DEBUG', 'SLEEP', '0.5')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const started = Date.now()
    const e = await rejection(slow.getLinkedPod(NS, 'u', 'chat'))
    const took = Date.now() - started
    await sleeping
    assert.equal(e.code, 'TIMEOUT')
    assert.equal(e.retryable, true, 'a read is safe to retry')
    assert.equal(e.operation, 'get_linked_pod')
    assert.ok(took < 450, `took ${took} ms`)
    assert.equal(await slow.getLinkedPod(NS, 'u', 'chat'), null, 'works again afterwards')
    slow.close()
  })

  await t.test('BUSY past maxInFlight', async () => {
    const narrow = await require('..').Executor.connect({ url: h.server.url, maxInFlight: 1 })
    const sleeping = h.raw.call('DEBUG', 'SLEEP', '0.2')
    await new Promise((resolve) => setTimeout(resolve, 20))
    const first = narrow.getLinkedPod(NS, 'u', 'chat')
    const e = await rejection(narrow.getLinkedPod(NS, 'u', 'chat'))
    assert.equal(e.code, 'BUSY')
    assert.equal(e.retryable, true)
    assert.equal(await first, null)
    await sleeping
    narrow.close()
  })

  await t.test('CLOSED after close()', async () => {
    const c = await require('..').Executor.connect({ url: h.server.url })
    assert.equal(c.closed, false)
    const inFlight = c.setLinkedPod(NS, 'cl', 'chat', 1, -1)
    c.close()
    assert.equal(c.closed, true)
    assert.equal(await inFlight, null, 'a call in flight finishes')
    for (const call of [
      () => c.getLinkedPod(NS, 'cl', 'chat'),
      () => c.setLinkedPod(NS, 'cl', 'chat', 1, -1),
      () => c.batchGetLinkedPod(NS, ['cl'], 'chat'),
      () => c.getLinkedPod(1, 2, 3),
    ]) {
      const e = await rejection(call())
      assert.equal(e.code, 'CLOSED')
      assert.equal(e.retryable, false)
    }
    c.close()
  })

  await t.test('CONFIG: unknown options, bad values, bad URLs', async () => {
    const { Executor } = require('..')
    for (const options of [
      { url: h.server.url, bogus: 1 },
      { url: 'http://127.0.0.1:1' },
      { url: h.server.url, connections: 0 },
      { url: h.server.url, commandTimeoutMs: 'fast' },
      { url: h.server.url, retry: { maxAttempts: 0 } },
      { url: h.server.url, keySchema: 'nope' },
    ]) {
      const e = await rejection(Executor.connect(options))
      assert.equal(e.code, 'CONFIG', `${JSON.stringify(options)}: ${e.message}`)
    }
    const e = await rejection(Executor.connect('redis://127.0.0.1:6379'))
    assert.equal(e.code, 'INVALID_ARGUMENT')
  })

  await t.test('clientName names every connection in CLIENT LIST; a bad one connects nothing', async () => {
    const { Executor } = require('..')
    const names = async () => {
      const own = await h.raw.client('ID')
      return (await h.raw.client('LIST')).split('\n').filter((l) => l && !l.startsWith(`id=${own} `))
        .map((l) => (l.split(' ').find((f) => f.startsWith('name=')) || 'name=').slice(5))
    }
    const before = (await names()).length
    for (const clientName of ['two words', 'line\nbreak', '', 'x'.repeat(129)]) {
      const e = await rejection(Executor.connect({ url: h.server.url, clientName }))
      assert.equal(e.code, 'CONFIG', e.message)
      assert.match(e.message, /client_name/)
      if (clientName) assert.ok(!e.message.includes(clientName), e.message)
    }
    assert.ok((await names()).length <= before, 'nothing connected')
    // Two shared connections and, by default, the event-loop connection.
    const c = await Executor.connect({ url: h.server.url, clientName: 'node-router', connections: 2 })
    await c.getLinkedPod(NS, 'cn', 'chat')
    assert.equal((await names()).filter((n) => n === 'node-router').length, 3)
    c.close()
    const shared = await Executor.connect({ url: h.server.url, clientName: 'node-shared', connections: 2, eventLoopConnection: false })
    await shared.getLinkedPod(NS, 'cn', 'chat')
    assert.equal((await names()).filter((n) => n === 'node-shared').length, 2)
    shared.close()
  })

  await t.test('CONNECTION: nothing listening', async () => {
    const { Executor } = require('..')
    const port = h.server.port === 1 ? 2 : 1
    const e = await rejection(Executor.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 500 }))
    assert.equal(e.code, 'CONNECTION')
    assert.equal(e.retryable, true)
  })

  await t.test('CONNECTION or TIMEOUT when the server goes away, then it resumes', async () => {
    const { startRedis } = require('./helpers')
    const { Executor } = require('..')
    const server = await startRedis()
    const c = await Executor.connect({ url: server.url, commandTimeoutMs: 300, connectTimeoutMs: 300 })
    assert.equal(await c.setLinkedPod(NS, 'g', 'chat', 1, -1), null)
    server.child.kill('SIGSTOP')
    const e = await rejection(c.getLinkedPod(NS, 'g', 'chat'))
    assert.ok(['CONNECTION', 'TIMEOUT'].includes(e.code), e.code)
    assert.equal(e.retryable, true)
    server.child.kill('SIGCONT')
    let pod
    for (let i = 0; i < 50 && pod === undefined; i++) {
      try {
        pod = await c.getLinkedPod(NS, 'g', 'chat')
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    assert.equal(pod, 1, 'service resumes by itself')
    c.close()
    await server.stop()
  })

  await t.test('AUTH, and the password never shows', async () => {
    const { startRedis } = require('./helpers')
    const { Executor } = require('..')
    const server = await startRedis(['--requirepass', 's3cr3t-pw'])
    try {
      for (const options of [
        { url: server.url },
        { url: server.url, password: 'wrong-s3cr3t' },
        { url: `redis://:wrong-s3cr3t@127.0.0.1:${server.port}` },
      ]) {
        const e = await rejection(Executor.connect(options))
        assert.equal(e.code, 'AUTH', e.message)
        assert.ok(!String(e.message).includes('s3cr3t'), e.message)
        assert.ok(!String(e.cause && e.cause.message).includes('s3cr3t'))
      }
      const ok = await Executor.connect({ url: server.url, password: 's3cr3t-pw' })
      assert.equal(await ok.getLinkedPod(NS, 'u', 'chat'), null)
      ok.close()
    } finally {
      await server.stop()
    }
  })

  await t.test('the error codes are exported and typed', () => {
    const { ErrorCode } = require('..')
    assert.deepEqual(Object.values(ErrorCode), [
      'INVALID_ARGUMENT', 'CONFIG', 'CONNECTION', 'TIMEOUT', 'AUTH', 'SCRIPT',
      'CLUSTER', 'BUSY', 'DATA', 'CLOSED', 'INTERNAL',
    ])
  })
})
