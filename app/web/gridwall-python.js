// gridwall (written by `gridwall app build` as python.js, in place of flet-web's): the bridge
// between Flutter and the Python worker. Flet's own starts the worker only when Flutter has
// loaded and asks to connect; here gridwallStartPython() (called by the boot script) starts it
// at once, so Pyodide, the app's imports and the device store load while Flutter loads.
// jsConnect / jsSend / jsDisconnect are what Flet's Dart side calls.
"use strict";
const _apps = {};
const _documentUrl = document.URL;
let _early = null; // the worker started before Flutter asked for it

function _newWorker() {
  const base = document.baseURI;
  const worker = new Worker(new URL("gridwall-worker.js?v=__VERSION__", base), { type: "module" });
  worker.postMessage({ gridwallStart: {
    pyodideUrl: new URL(flet.pyodideUrl, base).href,
    appPackageUrl: new URL(flet.appPackageUrl, base).href,
    module: flet.pythonModuleName || "main",
    lockFileContents: __LOCK__,
  } });
  return worker;
}

globalThis.gridwallStartPython = function () {
  if (!_early) {
    _early = _newWorker();
  }
};

globalThis.jsConnect = async function (appId, args, dartOnMessage) {
  console.log(`gridwall: connecting to the Python worker ${appId}`);
  const worker = _early || _newWorker(); // a reconnect gets a fresh worker
  _early = null;
  const app = { worker, dartOnMessage };
  _apps[appId] = app;
  let error;
  const initialized = new Promise((resolve) => {
    worker.onmessage = (event) => {
      if (typeof event.data === "string") {
        if (event.data !== "initialized") {
          error = event.data;
        }
        resolve();
      } else {
        app.dartOnMessage(event.data);
      }
    };
  });
  worker.postMessage({ gridwallConnect: { args, documentUrl: _documentUrl } });
  await initialized;
  if (error) {
    console.error("Python worker init error:", error);
    await globalThis.jsDisconnect(appId);
    throw error;
  }
};

globalThis.jsSend = async function (appId, data) {
  const app = _apps[appId];
  if (app) {
    app.worker.postMessage(data, [data.buffer]); // the sender does not touch data after this
  }
};

globalThis.jsDisconnect = async function (appId) {
  const app = _apps[appId];
  if (app) {
    delete _apps[appId];
    app.worker.terminate();
    app.worker.onmessage = null;
  }
};
