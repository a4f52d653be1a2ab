// gridwall's Python worker (written by `gridwall app build`; replaces flet-web's
// python-worker.js). It starts while the page is still loading Flutter (gridwall-python.js):
// loads Pyodide, unpacks the app archive (fetched meanwhile), then awaits the entry module's
// prepare() (imports, the device store) — all before Flutter asks to connect. When it does,
// run() starts Flet's connection. A module worker: Pyodide >= 0.29 refuses classic ones.
"use strict";
const flet_js = {}; // the `flet_js` module Flet's Python side talks to
self.flet_js = flet_js;
let started = null; // the boot promise: resolves to the Pyodide instance
let connectMsg; // resolves with the connect message from the page
const connectArrived = new Promise((resolve) => { connectMsg = resolve; });

function mark(phase) {
  // Wall-clock milliseconds: the page and this worker share no time origin.
  console.log(`gridwall-start ${phase} ${Date.now()}`);
}

async function boot(cfg) {
  mark("worker");
  // The archive is fetched while Pyodide loads (the service worker answers from its cache).
  const archive = fetch(cfg.appPackageUrl).then((r) => {
    if (!r.ok) throw new Error(`app archive: HTTP ${r.status} ${cfg.appPackageUrl}`);
    return r.arrayBuffer();
  });
  const { loadPyodide } = await import(cfg.pyodideUrl);
  const pyodide = await loadPyodide({
    stdout: (text) => console.log(text),
    stderr: (text) => console.error(text),
    // No packages come from Pyodide's index: everything is in the app archive.
    lockFileContents: cfg.lockFileContents,
  });
  mark("pyodide");
  pyodide.registerJsModule("flet_js", flet_js);
  unpackTar(pyodide.FS, await unpackTarGzBytes(await archive), pyodide.FS.cwd());
  mark("unpacked");
  await pyodide.runPythonAsync(`
import sys
sys.path.insert(0, "__pypackages__")
import ${cfg.module} as _entry
await _entry.prepare()
`);
  mark("prepared");
  return pyodide;
}

// The app archive (ustar, gzip) written into Pyodide's file system by JavaScript: the
// browser's own gzip and plain copies, several times faster than Python's tarfile in wasm.
async function unpackTarGzBytes(buffer) {
  const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function unpackTar(FS, tar, dir) {
  const dec = new TextDecoder();
  const field = (at, len) => {
    const bytes = tar.subarray(at, at + len);
    const end = bytes.indexOf(0);
    return dec.decode(end < 0 ? bytes : bytes.subarray(0, end));
  };
  const made = new Set();
  const mkdirs = (d) => {
    if (!made.has(d)) {
      FS.mkdirTree(d);
      made.add(d);
    }
  };
  for (let at = 0; at + 512 <= tar.length;) {
    const name = field(at, 100);
    if (!name) break; // the end-of-archive blocks
    const size = parseInt(field(at + 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(tar[at + 156]);
    const prefix = field(at + 345, 155);
    const path = `${dir}/${prefix ? prefix + "/" : ""}${name}`;
    at += 512;
    if (type === "0" || type === "\0") {
      mkdirs(path.slice(0, path.lastIndexOf("/")));
      FS.writeFile(path, tar.subarray(at, at + size));
    } else if (type === "5") {
      mkdirs(path.replace(/\/$/, ""));
    } else {
      throw new Error(`app archive: unexpected entry type ${type} for ${path}`);
    }
    at += Math.ceil(size / 512) * 512;
  }
}

async function connect(msg) {
  const pyodide = await started;
  flet_js.args = msg.args;
  flet_js.documentUrl = msg.documentUrl;
  await pyodide.runPythonAsync(`_entry.run()`);
  if (typeof flet_js.start_connection !== "function") {
    throw new Error("__flet_no_ui__:the app did not start a Flet UI");
  }
  await flet_js.start_connection(receive);
  mark("connected");
}

function receive(message) {
  // `message` is a Python bytes proxy: send a fresh copy's buffer without cloning it again.
  const bytes = message.toJs();
  self.postMessage(bytes, [bytes.buffer]);
}
flet_js.receive_callback = receive;

self.onmessage = (event) => {
  const data = event.data;
  if (data && data.gridwallStart) {
    if (!started) {
      started = boot(data.gridwallStart);
      started.catch(() => {}); // reported when the page connects
      connectArrived.then((msg) => connect(msg)).then(
        () => self.postMessage("initialized"),
        (err) => self.postMessage(String(err && err.message ? err.message : err)));
    }
  } else if (data && data.gridwallConnect) {
    connectMsg(data.gridwallConnect);
  } else if (typeof flet_js.send === "function") {
    flet_js.send(data);
  } else {
    console.error("gridwall: a message for a Python app that has not started was dropped");
  }
};
