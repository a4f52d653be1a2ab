// gridwall field app service worker (written by `gridwall app build`).
// Install: fetch the whole build into a cache named by its version; if any file fails the
// install fails and the running version stays (a build is never half-applied). A new version
// waits until the next start (the boot script activates a waiting one before the app starts).
// Fetch: answer from the cache, network only for what the build does not hold.
"use strict";
const VERSION = "__VERSION__";
const BASE = "__BASE__";
const CACHE = "gridwall-app-" + VERSION;
const FILES = __FILES__;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // cache: "no-cache" revalidates with the server: files the page just loaded cost a 304.
    await cache.addAll(FILES.map((f) => new Request(BASE + f, { cache: "no-cache" })));
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("gridwall-app-") && key !== CACHE) {
        await caches.delete(key);
      }
    }
    await self.clients.claim(); // the first visit is served from the cache from now on
  })());
});

self.addEventListener("message", (event) => {
  if (event.data === "activate") {
    self.skipWaiting();
  }
});

// Top folders of the build: a path under one of them is a file, never an app route.
const DIRS = new Set(FILES.filter((f) => f.includes("/")).map((f) => f.split("/")[0]));

function cacheKey(url) {
  // App routes (/app/households/new) are the page itself; files are matched without a query.
  const rel = url.pathname.slice(BASE.length);
  const last = rel.split("/").pop();
  if (rel === "" || (!FILES.includes(rel) && !last.includes(".") && !DIRS.has(rel.split("/")[0]))) {
    return BASE + "index.html";
  }
  return url.pathname;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin ||
      !url.pathname.startsWith(BASE) || url.pathname === BASE + "sw.js") {
    return; // the sync API and everything else go to the network as usual
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(cacheKey(url));
    return hit || fetch(event.request);
  })());
});
