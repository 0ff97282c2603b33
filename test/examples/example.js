// npm install pgmq-js pg, then: node example.js
// Connects as psql does: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD (node-postgres reads them).
const { Pgmq } = require('pgmq-js');

async function main() {
  const pgmq = await Pgmq.new({ ssl: false }); // also runs CREATE EXTENSION IF NOT EXISTS pgmq
  await pgmq.queue.create('tasks');
  await pgmq.msg.send('tasks', { x: 1 });
  const msg = await pgmq.msg.read('tasks', 30); // hidden from other readers for 30 s
  console.log('got', msg.msgId, msg.message);
  await pgmq.msg.delete('tasks', msg.msgId);
  await pgmq.queue.drop('tasks');
  await pgmq.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
