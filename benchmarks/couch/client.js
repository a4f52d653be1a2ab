// PouchDB client replicating to a CouchDB-protocol server (through gridwall's link emulator).
// usage: node client.js <db url via the emulator> <db url direct> <docs.json> [close|keepalive]
//   docs.json = {"households": [...], "visits": [...]}
//   close (default): PouchDB in Node as shipped; its node-fetch sends "Connection: close" when it
//     has no agent, so every request opens a new connection (and pays the TCP handshake);
//   keepalive: an http.Agent with keepAlive, connections reused as a browser's fetch would.
// Reads one command per line on stdin, answers one JSON line on stdout:
//   setup  - put the households locally and sync them, direct (as bench_sync's households)
//   visits - put the visits locally, then one sync (push + pull, as gridwall's sync_once)
//   idle   - one sync with nothing to send
// Each answer: {"phase", "s", "requests", "docs_written", "docs_read"}; bytes are counted by the emulator.
'use strict';
const fs = require('fs');
const http = require('http');
const readline = require('readline');
const PouchDB = require('pouchdb-core')
  .plugin(require('pouchdb-adapter-memory'))
  .plugin(require('pouchdb-adapter-http'))
  .plugin(require('pouchdb-replication'));

const [url, directUrl, docsPath, conn = 'close'] = process.argv.slice(2);
const agent = conn === 'keepalive' ? new http.Agent({ keepAlive: true }) : undefined;
const docs = JSON.parse(fs.readFileSync(docsPath, 'utf8'));
let requests = 0;
// every HTTP request the replicator makes goes through this fetch
const countingFetch = (u, opts) => { requests += 1; return PouchDB.fetch(u, agent ? { ...opts, agent } : opts); };
const local = new PouchDB('device', { adapter: 'memory' });
const remote = new PouchDB(url, { fetch: countingFetch });
const direct = new PouchDB(directUrl);

async function sync(phase, put) {
  if (put) await local.bulkDocs(put);
  requests = 0;
  const t0 = process.hrtime.bigint();
  const r = await local.sync(phase === 'setup' ? direct : remote);  // one-shot, both directions
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { phase, s, requests, docs_written: r.push.docs_written, docs_read: r.pull.docs_read };
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (cmd) => {
  try {
    const put = { setup: docs.households, visits: docs.visits, idle: null }[cmd.trim()];
    if (put === undefined) throw new Error(`unknown command: ${cmd}`);
    process.stdout.write(JSON.stringify(await sync(cmd.trim(), put)) + '\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e && e.message || e) }) + '\n');
  }
});
rl.on('close', () => process.exit(0));
