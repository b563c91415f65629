/*
 * Service worker of the door scanner, served at /door/sw.js (scope /door/).
 *
 * It keeps the scanner page and its static files so that the page opens with
 * no network. The page tells it what to keep (a "precache" message with the
 * page's own URLs, hashed in production). API calls are never touched: the
 * page keeps today's list in IndexedDB and decides offline by itself.
 */
"use strict";

const CACHE = "door-v1";
const PAGE_TIMEOUT_MS = 3000;

self.addEventListener("install", () => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("door-") && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })()
  );
});

async function precache(urls) {
  const cache = await caches.open(CACHE);
  await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-cache" });
      if (response.ok && !response.redirected) await cache.put(url, response);
    })
  );
  // Static files of an older release (other hashed names) are no longer needed;
  // pages (under the scope) stay, one per venue.
  const keep = new Set(urls.map((url) => new URL(url, self.location.href).href));
  for (const request of await cache.keys()) {
    if (!keep.has(request.url) && !request.url.startsWith(self.registration.scope)) await cache.delete(request);
  }
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "precache" || !Array.isArray(data.urls)) return;
  const port = event.ports && event.ports[0];
  event.waitUntil(
    precache(data.urls).then(
      () => port && port.postMessage({ ok: true }),
      (error) => port && port.postMessage({ ok: false, error: String(error) })
    )
  );
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); }
    );
  });
}

// Pages: the network first (fresh counts and dates), the saved copy when it fails or is slow.
async function page(request) {
  const cache = await caches.open(CACHE);
  const url = new URL(request.url);
  const key = url.origin + url.pathname;
  try {
    const response = await withTimeout(fetch(request), PAGE_TIMEOUT_MS);
    if (response.ok && !response.redirected && response.type === "basic") await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const saved = await cache.match(key);
    if (saved) return saved;
    return Response.error();
  }
}

// Static files: the saved copy first (their names change when their content does).
async function staticFile(request) {
  const saved = await caches.match(request);
  return saved || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (request.url.startsWith(self.registration.scope)) event.respondWith(page(request));
    return;
  }
  // Scripts (qr-scanner and its worker), styles: never fetch() calls such as the API's.
  if (["script", "style", "worker", "image", "font"].includes(request.destination)) {
    event.respondWith(staticFile(request));
  }
});
