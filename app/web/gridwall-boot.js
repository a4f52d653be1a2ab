// gridwall boot (written by `gridwall app build`): before the app starts, make sure it will
// open offline next time (service worker), switch to a build fetched during the last run,
// ask for persistent storage (the device store lives in IndexedDB), then start Flutter.
(async () => {
  const base = "__BASE__";
  // The app's Python runs in a web worker, and Chromium fires "online" in pages only: pass it
  // on (app.browser listens on this channel and syncs).
  const events = new BroadcastChannel("__EVENTS__");
  window.addEventListener("online", () => events.postMessage("online"));
  try {
    if ("serviceWorker" in navigator) {
      const reg = await navigator.serviceWorker.register(base + "sw.js", { scope: base });
      if (reg.waiting && navigator.serviceWorker.controller &&
          !sessionStorage.getItem("gridwall-switched")) {
        // A new build was fetched in the background last time: use it now, from a clean page.
        sessionStorage.setItem("gridwall-switched", "1");
        const next = reg.waiting;
        await new Promise((resolve) => {
          next.addEventListener("statechange", () => {
            if (next.state === "activated" || next.state === "redundant") resolve();
          });
          next.postMessage("activate");
          setTimeout(resolve, 15000); // never stuck here: the old build keeps working
        });
        location.reload();
        return;
      }
      sessionStorage.removeItem("gridwall-switched");
      // Look for a new build now (it installs in the background, used at the next start).
      reg.update().catch(() => {});
    }
  } catch (e) {
    console.warn("gridwall: service worker not available:", e);
  }
  // Python (Pyodide, the app's imports, the device store) loads in its worker while the page
  // loads Flutter; Flutter's connect takes the worker then (gridwall-python.js).
  globalThis.gridwallStartPython();
  try {
    if (navigator.storage && navigator.storage.persist) {
      const persisted = await navigator.storage.persist();
      console.log("gridwall: persistent storage", persisted ? "granted" : "not granted");
    }
  } catch (e) {
    console.warn("gridwall: persistent storage request failed:", e);
  }
  const s = document.createElement("script");
  s.src = base + "flutter_bootstrap.js";
  document.body.appendChild(s);
})();
