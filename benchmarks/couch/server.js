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
// minimumForPouchDB: the routes replication uses, no Fauxton; config and log kept in memory
app.use('/', require('express-pouchdb')(MemPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: '/dev/null' }));
const srv = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: srv.address().port }) + '\n');
});
