// express-pouchdb on an in-memory PouchDB, on 127.0.0.1 at a free port; prints {"port": N}.
'use strict';
const express = require('express');
const PouchDB = require('pouchdb-core')
  .plugin(require('pouchdb-adapter-memory'))
  .plugin(require('pouchdb-adapter-http'))
  .plugin(require('pouchdb-mapreduce'))
  .plugin(require('pouchdb-replication'));

const MemPouch = PouchDB.defaults({ adapter: 'memory' });
const app = express();
// CouchDB's welcome carries the server's uuid, and PouchDB names a replication (and so finds its
// checkpoint) by it; express-pouchdb's has none, so PouchDB would name it by the URL and the
// setup sync (direct) and the measured ones (through the emulator) would not share checkpoints.
const uuid = require('crypto').randomUUID().replace(/-/g, '');
app.get('/', (req, res) => res.json({ couchdb: 'Welcome', uuid, version: '3.3.3', vendor: { name: 'express-pouchdb' } }));
// minimumForPouchDB: the routes replication uses, no Fauxton; config and log kept in memory
app.use('/', require('express-pouchdb')(MemPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: '/dev/null' }));
const srv = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: srv.address().port }) + '\n');
});
// Node closes an idle kept-alive connection after 5 s; on a 1.3 s RTT link the close crosses the
// client's next request on the wire ("socket hang up"). Hold idle connections a minute instead.
srv.keepAliveTimeout = 60_000;
srv.headersTimeout = 61_000;
