// readme_example.test.js: runs test/examples/example.js, the README's Node example, as a user
// would (node example.js with pgmq-js installed), connected through PGHOST/PGPORT/PGUSER and
// PGDATABASE to a fresh database. test/python/test_readme_examples.py checks the README shows it.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const modules = process.env.PGMQ_JS_MODULES;
if (!modules) throw new Error('PGMQ_JS_MODULES must point at the node_modules holding pgmq-js (see run.sh)');
const pg = require(path.join(modules, 'pg'));

const DB = 'pgmq_js_example';
const examples = path.join(__dirname, '..', 'examples');

async function admin(text) {
  const client = new pg.Client({ database: 'postgres', ssl: false });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

test('the README Node example runs as written, twice', async () => {
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${DB}`);
  try {
    // require('pgmq-js') in the example finds the suite's node_modules through NODE_PATH.
    const env = { ...process.env, PGDATABASE: DB, NODE_PATH: modules };
    for (let i = 0; i < 2; i++) {
      const out = execFileSync(process.execPath, ['example.js'], { cwd: examples, env, encoding: 'utf8', timeout: 60000 });
      assert.equal(out, 'got 1 { x: 1 }\n');
    }
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  }
});
