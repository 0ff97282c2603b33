// pgmq_js.test.js: the unmodified npm client pgmq-js (pinned in run.sh) against pgmq.
//
// Run by test/js/run.sh with node --test. pgmq-js sends every parameter untyped (node-postgres),
// except where its SQL casts them; what it sends is in node_modules/pgmq-js/dist/index.js.
// A fresh database is created, pgmq-js itself creates the extension in it
// (CREATE EXTENSION IF NOT EXISTS pgmq CASCADE), and the database is dropped at the end.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const modules = process.env.PGMQ_JS_MODULES;
if (!modules) throw new Error('PGMQ_JS_MODULES must point at the node_modules holding pgmq-js (see run.sh)');
const { Pgmq } = require(path.join(modules, 'pgmq-js'));
const pg = require(path.join(modules, 'pg'));

const DB = 'pgmq_js';
const base = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
};

let pgmq; // the client under test
let sql; // a plain node-postgres client to check what pgmq-js did

// adminQuery runs one statement on the maintenance database.
async function adminQuery(text) {
  const client = new pg.Client({ ...base, database: 'postgres', ssl: false });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

// rows runs a query on the checking connection and returns its rows.
async function rows(text, params) {
  return (await sql.query(text, params)).rows;
}

// expectPgError asserts that a promise rejects with a PostgreSQL error of the given SQLSTATE.
async function expectPgError(promise, sqlstate, pattern) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, sqlstate, `expected SQLSTATE ${sqlstate}, got ${err.code}: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

before(async () => {
  await adminQuery(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${DB}`);
  // ssl defaults to true in pgmq-js; idleTimeoutMillis given so its defaults keep max = 4.
  pgmq = await Pgmq.new({ ...base, database: DB, password: '', ssl: false, max: 4, idleTimeoutMillis: 10000 });
  sql = new pg.Client({ ...base, database: DB, ssl: false });
  await sql.connect();
});

// dropTestDatabase drops the test database once its connections are gone. pool.end() resolves
// before the server has seen every pooled connection close; terminating such a connection
// (WITH (FORCE)) would make its client emit an error nobody listens to, so wait first.
async function dropTestDatabase() {
  const client = new pg.Client({ ...base, database: 'postgres', ssl: false });
  await client.connect();
  try {
    for (let i = 0; i < 100; i++) {
      const { rows: [{ n }] } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [DB]);
      if (n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await client.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

after(async () => {
  if (sql) await sql.end();
  if (pgmq) await pgmq.close();
  await dropTestDatabase();
});

test('Pgmq.new created the extension in the fresh database', async () => {
  const ext = await rows("SELECT extname, extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pgmq'");
  assert.deepEqual(ext, [{ extname: 'pgmq', schema: 'pgmq' }]);
  // a second client with skipExtensionCreation works on the same database
  const other = await Pgmq.new({ ...base, database: DB, password: '', ssl: false, max: 1, idleTimeoutMillis: 1000 },
    { skipExtensionCreation: true });
  try {
    assert.ok(Array.isArray(await other.queue.list()));
  } finally {
    await other.close();
  }
});

test('queue.create, createUnlogged and list', async () => {
  await pgmq.queue.create('js_jobs');
  await pgmq.queue.create('js_jobs'); // idempotent
  await pgmq.queue.createUnlogged('js_fast');
  const queues = await pgmq.queue.list();
  const byName = Object.fromEntries(queues.map((q) => [q.name, q]));
  assert.ok(byName.js_jobs, `js_jobs missing from ${JSON.stringify(queues)}`);
  assert.equal(byName.js_jobs.isPartitioned, false);
  assert.equal(byName.js_jobs.isUnlogged, false);
  assert.equal(byName.js_fast.isUnlogged, true);
  assert.ok(byName.js_jobs.createdAt instanceof Date);
  assert.ok(Math.abs(byName.js_jobs.createdAt.getTime() - Date.now()) < 120000, String(byName.js_jobs.createdAt));
  const persistence = await rows(
    "SELECT relname, relpersistence FROM pg_class WHERE relname IN ('q_js_jobs', 'q_js_fast') ORDER BY relname");
  assert.deepEqual(persistence, [{ relname: 'q_js_fast', relpersistence: 'u' }, { relname: 'q_js_jobs', relpersistence: 'p' }]);
});

test('msg.send, read and readBatch', async () => {
  const id1 = await pgmq.msg.send('js_jobs', { job: 1, tags: ['a', 'ü'] });
  const id2 = await pgmq.msg.send('js_jobs', { job: 2 });
  assert.equal(typeof id1, 'number');
  assert.ok(id2 > id1);

  const before = Date.now();
  const m = await pgmq.msg.read('js_jobs', 30);
  assert.equal(m.msgId, id1);
  assert.equal(m.readCount, 1);
  assert.deepEqual(m.message, { job: 1, tags: ['a', 'ü'] });
  assert.ok(m.enqueuedAt instanceof Date && !Number.isNaN(m.enqueuedAt.getTime()));
  assert.ok(m.vt.getTime() > before + 25000 && m.vt.getTime() < before + 35000, `vt ${m.vt.toISOString()}`);

  const batch = await pgmq.msg.readBatch('js_jobs', 30, 10);
  assert.deepEqual(batch.map((x) => x.msgId), [id2]);
  assert.equal(await pgmq.msg.read('js_jobs', 30), undefined); // both hidden now

  // read() defaults vt to 0: the message stays visible and read_ct grows
  const id3 = await pgmq.msg.send('js_fast', 'plain string');
  assert.equal((await pgmq.msg.read('js_fast')).readCount, 1);
  const again = await pgmq.msg.read('js_fast');
  assert.equal(again.msgId, id3);
  assert.equal(again.readCount, 2);
  assert.equal(again.message, 'plain string');
  await pgmq.queue.purge('js_fast');
});

test('msg.send with delay and sendBatch', async () => {
  await pgmq.queue.create('js_delay');
  const delayed = await pgmq.msg.send('js_delay', { later: true }, 3600);
  assert.equal(await pgmq.msg.read('js_delay', 30), undefined);
  const [{ secs }] = await rows('SELECT extract(epoch FROM vt - now())::int AS secs FROM pgmq.q_js_delay WHERE msg_id = $1', [delayed]);
  assert.ok(secs > 3500 && secs <= 3600, `delay ${secs}`);

  const ids = await pgmq.msg.sendBatch('js_delay', [{ n: 0 }, { n: 1 }, { n: 2 }]);
  assert.equal(ids.length, 3);
  assert.deepEqual([...ids].sort((a, b) => a - b), ids);
  const got = await pgmq.msg.readBatch('js_delay', 30, 10);
  assert.deepEqual(got.map((x) => [x.msgId, x.message.n]), [[ids[0], 0], [ids[1], 1], [ids[2], 2]]);

  const later = await pgmq.msg.sendBatch('js_delay', [{ n: 3 }, { n: 4 }], 3600);
  assert.equal(later.length, 2);
  assert.deepEqual(await pgmq.msg.readBatch('js_delay', 30, 10), []);
  await pgmq.queue.drop('js_delay');
});

test('msg.pop', async () => {
  await pgmq.queue.create('js_pop');
  const id = await pgmq.msg.send('js_pop', { pop: 1 });
  const m = await pgmq.msg.pop('js_pop');
  assert.equal(m.msgId, id);
  assert.equal(m.readCount, 0);
  assert.deepEqual(m.message, { pop: 1 });
  assert.equal(await pgmq.msg.pop('js_pop'), undefined);
  assert.deepEqual(await rows('SELECT count(*)::int AS n FROM pgmq.q_js_pop'), [{ n: 0 }]);
  await pgmq.queue.drop('js_pop');
});

test('msg.archive, archiveBatch, delete, deleteBatch', async () => {
  await pgmq.queue.create('js_ack');
  const ids = await pgmq.msg.sendBatch('js_ack', [1, 2, 3, 4, 5, 6].map((n) => ({ n })));
  assert.equal(await pgmq.msg.archive('js_ack', ids[0]), true);
  assert.equal(await pgmq.msg.archive('js_ack', ids[0]), false);
  assert.deepEqual((await pgmq.msg.archiveBatch('js_ack', [ids[1], ids[2], 999999])).sort((a, b) => a - b), [ids[1], ids[2]]);
  assert.equal(await pgmq.msg.delete('js_ack', ids[3]), true);
  assert.equal(await pgmq.msg.delete('js_ack', ids[3]), false);
  assert.deepEqual((await pgmq.msg.deleteBatch('js_ack', [ids[4], ids[5], 424242])).sort((a, b) => a - b), [ids[4], ids[5]]);
  const archived = await rows('SELECT msg_id::int AS id, message FROM pgmq.a_js_ack ORDER BY msg_id');
  assert.deepEqual(archived, [{ id: ids[0], message: { n: 1 } }, { id: ids[1], message: { n: 2 } }, { id: ids[2], message: { n: 3 } }]);
  assert.deepEqual(await rows('SELECT count(*)::int AS n FROM pgmq.q_js_ack'), [{ n: 0 }]);
  await pgmq.queue.drop('js_ack');
});

test('msg.setVt with untyped parameters returns the message with its new vt', async () => {
  await pgmq.queue.create('js_vt');
  const id = await pgmq.msg.send('js_vt', { vt: true });
  const before = Date.now();
  const m = await pgmq.msg.setVt('js_vt', id, 60);
  assert.ok(m, 'setVt returned nothing');
  assert.equal(m.msgId, id);
  assert.deepEqual(m.message, { vt: true });
  assert.ok(m.vt.getTime() > before + 55000 && m.vt.getTime() < before + 65000, `vt ${m.vt.toISOString()}`);
  const [{ stored }] = await rows('SELECT vt AS stored FROM pgmq.q_js_vt WHERE msg_id = $1', [id]);
  assert.equal(stored.getTime(), m.vt.getTime());
  assert.equal(await pgmq.msg.read('js_vt', 30), undefined); // hidden by setVt

  const visible = await pgmq.msg.setVt('js_vt', id, 0);
  assert.ok(visible.vt.getTime() <= Date.now() + 1000);
  const r = await pgmq.msg.read('js_vt', 30);
  assert.equal(r.msgId, id);
  assert.equal(r.readCount, 1);

  assert.equal(await pgmq.msg.setVt('js_vt', 987654, 10), undefined); // no such message
  // the call pgmq-js makes resolves to the set_vt(text, text, text) overload
  const [{ fn }] = await rows("SELECT to_regprocedure('pgmq.set_vt(text, text, text)')::text AS fn");
  assert.equal(fn, 'pgmq.set_vt(text,text,text)');
  await pgmq.queue.drop('js_vt');
});

test('queue.getMetrics and getAllMetrics', async () => {
  await pgmq.queue.create('js_metrics');
  await pgmq.msg.sendBatch('js_metrics', [{ a: 1 }, { a: 2 }, { a: 3 }]);
  await pgmq.msg.read('js_metrics', 30);
  const m = await pgmq.queue.getMetrics('js_metrics');
  assert.equal(m.queueName, 'js_metrics');
  assert.equal(m.queueLength, 3);
  assert.equal(m.totalMessages, 3);
  assert.ok(m.newestMsgAgeSec >= 0 && m.newestMsgAgeSec <= 5);
  assert.ok(m.oldestMsgAgeSec >= m.newestMsgAgeSec);
  assert.ok(m.scrapeTime instanceof Date && Math.abs(m.scrapeTime.getTime() - Date.now()) < 60000);

  await pgmq.queue.create('js_empty');
  const all = await pgmq.queue.getAllMetrics();
  const byName = Object.fromEntries(all.map((x) => [x.queueName, x]));
  assert.equal(byName.js_metrics.queueLength, 3);
  assert.equal(byName.js_empty.queueLength, 0);
  assert.equal(byName.js_empty.newestMsgAgeSec, undefined); // NULL age on an empty queue
  assert.equal(byName.js_empty.totalMessages, 0);
  assert.ok(byName.js_jobs);
});

test('queue.purge keeps the archive and total count', async () => {
  const id = (await pgmq.msg.sendBatch('js_metrics', [{ p: 1 }]))[0];
  await pgmq.msg.archive('js_metrics', id);
  await pgmq.queue.purge('js_metrics');
  const m = await pgmq.queue.getMetrics('js_metrics');
  assert.equal(m.queueLength, 0);
  assert.equal(m.totalMessages, 4);
  assert.deepEqual(await rows('SELECT count(*)::int AS n FROM pgmq.a_js_metrics'), [{ n: 1 }]);
});

test('queue.detachArchive is a no-op that keeps the archive', async () => {
  await pgmq.queue.detachArchive('js_metrics');
  assert.deepEqual(await rows('SELECT count(*)::int AS n FROM pgmq.a_js_metrics'), [{ n: 1 }]);
});

test('concurrent readBatch calls over the pool get disjoint messages', async () => {
  await pgmq.queue.create('js_conc');
  const ids = await pgmq.msg.sendBatch('js_conc', Array.from({ length: 100 }, (_, i) => ({ i })));
  const seen = [];
  const worker = async () => {
    for (;;) {
      const batch = await pgmq.msg.readBatch('js_conc', 60, 7);
      if (batch.length === 0) return;
      seen.push(...batch.map((x) => x.msgId));
      await pgmq.msg.deleteBatch('js_conc', batch.map((x) => x.msgId));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  assert.equal(new Set(seen).size, seen.length, 'a message was read twice');
  assert.deepEqual([...seen].sort((a, b) => a - b), ids);
  await pgmq.queue.drop('js_conc');
});

test('large and unicode messages round-trip', async () => {
  await pgmq.queue.create('js_content');
  const big = { blob: 'z'.repeat(1024 * 1024), n: [1, 2, 3] };
  const uni = { text: 'héllo wörld 消息队列 مرحبا', emoji: '🚀👩‍👩‍👧', esc: 'tab\t nl\n "q" \\' };
  const [bigId, uniId] = [await pgmq.msg.send('js_content', big), await pgmq.msg.send('js_content', uni)];
  const got = await pgmq.msg.readBatch('js_content', 30, 5);
  assert.deepEqual(got.map((m) => m.msgId), [bigId, uniId]);
  assert.deepEqual(got[0].message, big);
  assert.deepEqual(got[1].message, uni);
  await pgmq.queue.drop('js_content');
});

test('errors reach the client with their SQLSTATE', async () => {
  await expectPgError(pgmq.msg.send('js_nope', { x: 1 }), '42P01', /queue "js_nope" does not exist/);
  await expectPgError(pgmq.msg.readBatch('js_nope', 30, 1), '42P01');
  await expectPgError(pgmq.queue.getMetrics('js_nope'), '42P01');
  // PGMQ's errors by default: a negative qty is 2201W (PGMQ's LIMIT), a name with ; is P0001
  await expectPgError(pgmq.msg.readBatch('js_jobs', 30, -1), '2201W');
  await expectPgError(pgmq.queue.create('bad;name'), 'P0001');
  // and what PGMQ accepts works: qty 0 reads nothing
  assert.deepEqual(await pgmq.msg.readBatch('js_jobs', 30, 0), []);
  // the pool is still healthy afterwards
  assert.ok((await pgmq.queue.list()).length >= 1);
});

test('queue.drop', async () => {
  await pgmq.queue.drop('js_jobs');
  await pgmq.queue.drop('js_fast');
  await pgmq.queue.drop('js_metrics');
  await pgmq.queue.drop('js_empty');
  await pgmq.queue.drop('js_jobs'); // missing: false with a notice, no error
  const names = (await pgmq.queue.list()).map((q) => q.name);
  assert.deepEqual(names, []);
  assert.deepEqual(await rows("SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'pgmq'::regnamespace AND relname ~ '^[qa]_js_'"),
    [{ n: 0 }]);
});
