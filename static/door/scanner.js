/*
 * The door scanner page.
 *
 * Online, every decision is the server's (POST /api/door/scan). When a request
 * fails (no network, or no answer within 3 s) the page switches itself to
 * offline mode and says so: it decides from today's list of tickets kept in
 * IndexedDB, in the server's order of checks, and queues what it did (with the
 * scan's own id and time) for POST /api/door/sync, which it retries when the
 * network returns. Every queued item is idempotent on the server, so sending a
 * batch twice is harmless.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("door-config").textContent);
  const S = config.strings;
  const REQUEST_TIMEOUT_MS = 3000;
  const RETRY_MS = 10000;
  const REFRESH_MS = 60000;
  const CAMERA_REPEAT_MS = 4000;
  const SYNC_BATCH = 200;

  const $ = (id) => document.getElementById(id);
  const el = {
    network: $("door-network"),
    queue: $("door-queue"),
    form: $("door-scan-form"),
    code: $("door-code"),
    answer: $("door-answer"),
    message: $("door-message"),
    name: $("door-name"),
    details: $("door-details"),
    occurrence: $("door-occurrence"),
    headcount: $("door-headcount"),
    camera: $("door-camera"),
    video: $("door-video"),
    walkinOne: $("door-walkin-one"),
    walkinMany: $("door-walkin-many"),
    walkinCount: $("door-walkin-count"),
    undo: $("door-undo"),
    device: $("door-device"),
  };

  const state = {
    online: true,
    authProblem: false,
    day: null, // today's list: {venue, fetched_at, offset_ms, occurrences, tickets, counts, ...}
    byDigest: new Map(),
    counts: config.counts,
    countsAt: Date.parse(config.rendered_at),
    queue: [], // mirror of the IndexedDB queue for this venue, oldest first
    lastAction: null,
    syncing: false,
    refused: 0,
    wedge: false,
    chain: Promise.resolve(),
  };

  // ---------------------------------------------------------------- helpers

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
  }

  function randomHex(bytes) {
    const buffer = new Uint8Array(bytes);
    crypto.getRandomValues(buffer);
    return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function newId() {
    return randomHex(16);
  }

  function deviceId() {
    let id = null;
    try {
      id = localStorage.getItem("door-device");
      if (!id) {
        id = "door-" + randomHex(4);
        localStorage.setItem("door-device", id);
      }
    } catch (error) {
      id = id || "door-" + randomHex(4);
    }
    return id;
  }

  // The server's clock, as far as we know it (the device's may be wrong).
  function serverNow() {
    return Date.now() + ((state.day && state.day.offset_ms) || 0);
  }

  function when(iso) {
    if (!iso) return "";
    try {
      return new Date(iso).toLocaleString(document.documentElement.lang || "vi", {
        timeZone: config.time_zone, hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit", hourCycle: "h23",
      });
    } catch (error) {
      return iso;
    }
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString("vi", { timeZone: config.time_zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }

  function csrfToken() {
    const match = document.cookie.match(new RegExp("(?:^|; )" + config.csrf_cookie + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : config.csrf_token;
  }

  async function sha256hex(text) {
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  class NetworkError extends Error {}

  // A request that fails or takes longer than REQUEST_TIMEOUT_MS is a network failure.
  async function request(method, url, body) {
    if (navigator.onLine === false) throw new NetworkError("offline");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        headers: Object.assign(
          { Accept: "application/json", "Accept-Language": document.documentElement.lang || "vi" },
          body ? { "Content-Type": "application/json", "X-CSRFToken": csrfToken() } : {}
        ),
        body: body ? JSON.stringify(body) : undefined,
        signal: controller.signal,
      });
      let data = null;
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
      return { status: response.status, ok: response.ok, data };
    } catch (error) {
      throw new NetworkError(String(error));
    } finally {
      clearTimeout(timer);
    }
  }

  // Answers the server gives that mean "decide here and keep it for later".
  function isUnavailable(response) {
    return response.status >= 500 || response.status === 401 || response.status === 403;
  }

  // ---------------------------------------------------------------- IndexedDB

  const store = (function () {
    let dbPromise = null;
    function open() {
      if (!dbPromise) {
        dbPromise = new Promise((resolve, reject) => {
          if (!window.indexedDB) return reject(new Error("no IndexedDB"));
          const req = indexedDB.open("door", 1);
          req.onupgradeneeded = () => {
            const db = req.result;
            db.createObjectStore("days", { keyPath: "venue" });
            db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true }).createIndex("venue", "venue");
          };
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
      }
      return dbPromise;
    }
    async function run(name, mode, work) {
      const db = await open();
      return new Promise((resolve, reject) => {
        const tx = db.transaction(name, mode);
        let result;
        const req = work(tx.objectStore(name));
        if (req) req.onsuccess = () => { result = req.result; };
        tx.oncomplete = () => resolve(result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      });
    }
    return {
      getDay: (venue) => run("days", "readonly", (s) => s.get(venue)),
      putDay: (day) => run("days", "readwrite", (s) => s.put(day)),
      queued: (venue) => run("queue", "readonly", (s) => s.index("venue").getAll(venue)),
      add: (item) => run("queue", "readwrite", (s) => s.add(item)),
      remove: (seqs) => run("queue", "readwrite", (s) => { seqs.forEach((seq) => s.delete(seq)); }),
    };
  })();

  // Without IndexedDB (a private window on an old phone) the queue lives in memory only.
  let memorySeq = 0;
  async function queueAdd(item) {
    item.venue = config.venue;
    try {
      item.seq = await store.add(item);
    } catch (error) {
      item.seq = "m" + ++memorySeq;
    }
    state.queue.push(item);
    renderQueue();
  }

  async function queueReload() {
    try {
      const items = await store.queued(config.venue);
      const memory = state.queue.filter((item) => typeof item.seq === "string");
      state.queue = items.concat(memory).sort((a, b) => (a.created || 0) - (b.created || 0));
    } catch (error) {
      // keep the memory copy
    }
  }

  async function queueRemove(items) {
    const seqs = items.map((item) => item.seq);
    try {
      await store.remove(seqs.filter((seq) => typeof seq === "number"));
    } catch (error) {
      // nothing stored, nothing to remove
    }
    const gone = new Set(seqs);
    state.queue = state.queue.filter((item) => !gone.has(item.seq));
  }

  // ---------------------------------------------------------------- today's list

  function useDay(day) {
    state.day = day;
    state.byDigest = new Map(day.tickets.map((ticket) => [ticket.digest, ticket]));
    fillOccurrences(day.occurrences);
  }

  function fillOccurrences(occurrences) {
    const chosen = el.occurrence.value;
    const first = el.occurrence.options[0];
    el.occurrence.replaceChildren(first);
    for (const occurrence of occurrences) {
      const option = document.createElement("option");
      option.value = String(occurrence.id);
      option.textContent = clock(occurrence.start) + "–" + clock(occurrence.end) + " · " + occurrence.title;
      option.disabled = occurrence.cancelled;
      el.occurrence.append(option);
    }
    el.occurrence.value = chosen;
    if (el.occurrence.value !== chosen) el.occurrence.value = "";
  }

  async function refreshToday() {
    const response = await request("GET", config.urls.today + "?venue=" + encodeURIComponent(config.venue));
    if (!response.ok) {
      if (isUnavailable(response)) markUnavailable(response);
      return false;
    }
    const data = response.data;
    const day = Object.assign({}, data, {
      venue: config.venue,
      fetched_at: new Date().toISOString(),
      offset_ms: Date.parse(data.server_time) - Date.now(),
    });
    useDay(day);
    setCounts(data.counts);
    try {
      await store.putDay(day);
      document.documentElement.dataset.doorList = "saved";
    } catch (error) {
      document.documentElement.dataset.doorList = "memory";
    }
    goOnline();
    return true;
  }

  // ---------------------------------------------------------------- network state

  function goOnline() {
    state.online = true;
    state.authProblem = false;
    renderNetwork();
  }

  function goOffline() {
    state.online = false;
    renderNetwork();
  }

  function markUnavailable(response) {
    if (response.status === 401 || response.status === 403) state.authProblem = true;
    goOffline();
  }

  function renderNetwork() {
    const banner = el.network;
    if (state.online && !state.authProblem) {
      banner.hidden = true;
      banner.dataset.state = "online";
      banner.textContent = "";
      return;
    }
    banner.hidden = false;
    banner.replaceChildren();
    if (state.authProblem) {
      banner.dataset.state = "auth";
      const link = document.createElement("a");
      link.href = config.urls.login;
      link.textContent = S.login_again;
      banner.append(link);
      return;
    }
    banner.dataset.state = "offline";
    let text = S.offline;
    if (state.day) text += " " + fmt(S.list_saved, { time: when(state.day.fetched_at) });
    else text = S.no_list;
    banner.textContent = text;
  }

  // ---------------------------------------------------------------- counters and queue

  function setCounts(counts) {
    if (counts) {
      state.counts = counts;
      state.countsAt = Date.now();
    }
    renderCounts();
  }

  function renderCounts() {
    const shown = Object.assign({}, state.counts);
    for (const item of state.queue) {
      for (const [key, value] of Object.entries(item.delta || {})) shown[key] = (shown[key] || 0) + value;
    }
    for (const key of ["checked_in", "expected", "walk_ins"]) {
      const node = $("count-" + key);
      if (node) node.textContent = String(Math.max(shown[key] || 0, 0));
    }
  }

  function renderQueue() {
    const count = state.queue.length;
    el.queue.dataset.count = String(count);
    let text = "";
    if (state.syncing && count) text = S.syncing;
    else if (count === 1) text = S.waiting_one;
    else if (count > 1) text = fmt(S.waiting_many, { count });
    if (state.refused) text += (text ? " " : "") + fmt(S.refused, { count: state.refused });
    el.queue.textContent = text;
    el.queue.hidden = !text;
    renderCounts();
  }

  // ---------------------------------------------------------------- answers

  let audio = null;
  function unlockAudio() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (audio.state === "suspended") audio.resume();
    } catch (error) {
      audio = null;
    }
  }

  // A short high beep for "come in", a longer low one for a refusal.
  function beep(ok) {
    if (!audio) return;
    try {
      const now = audio.currentTime;
      const length = ok ? 0.15 : 0.45;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = ok ? "sine" : "square";
      oscillator.frequency.value = ok ? 1320 : 220;
      gain.gain.setValueAtTime(0.2, now);
      gain.gain.exponentialRampToValueAtTime(0.001, now + length);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(now);
      oscillator.stop(now + length);
    } catch (error) {
      // no sound is better than no answer
    }
    if (!ok && navigator.vibrate) navigator.vibrate([120, 80, 120]);
  }

  function showAnswer({ result, message, colour, details, source }) {
    const lines = [];
    const d = details || {};
    if (d.organisation) lines.push(d.organisation);
    if (d.party_size) {
      lines.push(fmt(S.party, { count: d.party_size }));
      if (d.admitted !== undefined) lines.push(fmt(S.admitted, { admitted: d.admitted, party: d.party_size }));
    }
    if (result === "ok" && d.headcount) lines.push(fmt(S.admitted_now, { count: d.headcount }));
    if (result === "already_checked_in" && d.first_checked_in_at) {
      let line = fmt(S.first_checkin, { when: when(d.first_checked_in_at) });
      if (d.first_checked_in_by) line += ", " + fmt(S.by_user, { user: d.first_checked_in_by });
      if (d.first_device) line += ", " + fmt(S.on_device, { device: d.first_device });
      lines.push(line);
    }
    if (result === "wrong_occurrence" && d.occurrence_start) {
      lines.push(fmt(S.ticket_for, { when: when(d.occurrence_start) }) + (d.title ? " · " + d.title : ""));
    }
    if (source === "device") lines.push(S.decided_offline);
    render(colour, message, d.name || "", lines, result, source);
    beep(result === "ok");
  }

  function showNote(colour, message) {
    render(colour, message, "", [], "", "note");
  }

  function render(colour, message, name, lines, result, source) {
    el.answer.className = "door-answer is-" + (colour || "idle");
    el.answer.dataset.result = result || "";
    el.answer.dataset.source = source || "";
    el.message.textContent = message;
    el.name.textContent = name;
    el.details.replaceChildren(...lines.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    }));
  }

  const undoLabel = el.undo.textContent;

  // The button says what it would undo: the last admission or walk-in count.
  function setLastAction(action) {
    state.lastAction = action;
    el.undo.disabled = !action;
    el.undo.textContent = action && action.label ? undoLabel + ": " + action.label : undoLabel;
  }

  function admissionLabel(name, admit) {
    return (name ? name + " " : "") + "(" + admit + ")";
  }

  // ---------------------------------------------------------------- scanning

  function chosenOccurrence() {
    return el.occurrence.value ? Number(el.occurrence.value) : null;
  }

  function takeHeadcount() {
    const value = parseInt(el.headcount.value, 10);
    el.headcount.value = "";
    return Number.isFinite(value) && value > 0 ? value : null;
  }

  function enqueueScan(code) {
    const scan = {
      code,
      scan_id: newId(),
      occurrence_id: chosenOccurrence(),
      headcount: takeHeadcount(),
      device: config.device,
      scanned_at: new Date(serverNow()).toISOString(),
    };
    // One scan at a time, in the order they were made.
    state.chain = state.chain.then(() => scanNow(scan)).catch(() => showNote("red", S.error));
    return state.chain;
  }

  async function scanNow(scan) {
    if (state.online) {
      try {
        const response = await request("POST", config.urls.scan, Object.assign({ venue: config.venue, offline: false }, scan));
        if (response.ok) {
          const data = response.data;
          showAnswer(Object.assign({ source: "server" }, data));
          setCounts(data.counts);
          await rememberServerAnswer(scan.code, data);
          if (data.result === "ok") {
            setLastAction({
              type: "scan", id: scan.scan_id, digest: await sha256hex(scan.code), admit: data.details.headcount,
              label: admissionLabel(data.details.name, data.details.headcount),
            });
          }
          return;
        }
        if (!isUnavailable(response)) {
          showNote("red", (response.data && response.data.message) || S.error);
          return;
        }
        markUnavailable(response);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        goOffline();
      }
    }
    await scanOffline(scan);
  }

  // Keep the saved list in step with what the server said, for later offline answers.
  async function rememberServerAnswer(code, data) {
    if (!state.day || data.details.admitted === undefined) return;
    const row = state.byDigest.get(await sha256hex(code));
    if (row) {
      row.admitted = data.details.admitted;
      store.putDay(state.day).catch(() => {});
    }
  }

  // People admitted on this device and not yet synced (minus undos).
  function admittedHere(digest) {
    let admitted = 0;
    for (const item of state.queue) {
      if (item.digest !== digest) continue;
      if (item.payload.type === "scan") admitted += item.admit || 0;
      if (item.payload.type === "undo_scan") admitted -= item.admit || 0;
    }
    return admitted;
  }

  // The server's checks (attendance.services._validate), in the same order.
  function decide(row, scan) {
    if (!row) return { result: "unknown", admit: 0 };
    if (row.status === "cancelled" || row.status === "declined") return { result: "cancelled", admit: 0 };
    if (row.status === "waiting" || row.status === "pending") return { result: "waiting_list", admit: 0 };
    if (scan.occurrence_id !== null && row.occurrence_id !== scan.occurrence_id) return { result: "wrong_occurrence", admit: 0 };
    if (row.occurrence_cancelled) return { result: "cancelled", admit: 0 };
    const at = Date.parse(scan.scanned_at);
    const opens = state.day.checkin_opens_minutes * 60000;
    const closes = state.day.checkin_closes_minutes * 60000;
    if (at < Date.parse(row.occurrence_start) - opens) return { result: "too_early", admit: 0 };
    if (at > Date.parse(row.occurrence_end) + closes) return { result: "too_late", admit: 0 };
    const admitted = row.admitted + admittedHere(row.digest);
    const remaining = row.party_size - admitted;
    if (remaining <= 0) return { result: "already_checked_in", admit: 0, admitted };
    const admit = scan.headcount === null ? remaining : Math.max(1, Math.min(scan.headcount, remaining));
    return { result: "ok", admit, admitted: admitted + admit };
  }

  async function scanOffline(scan) {
    const digest = await sha256hex(scan.code);
    const row = state.byDigest.get(digest) || null;
    const decision = decide(row, scan);
    // Refused scans are queued too: the server keeps a complete door log.
    await queueAdd({
      created: Date.now(),
      payload: Object.assign({ type: "scan", offline: true }, scan),
      digest,
      admit: decision.admit,
      delta: { checked_in: decision.admit },
    });
    const details = row
      ? {
          name: row.name, organisation: row.organisation, party_size: row.party_size,
          admitted: decision.admitted !== undefined ? decision.admitted : row.admitted + admittedHere(digest),
          headcount: decision.admit, occurrence_start: row.occurrence_start,
        }
      : {};
    showAnswer({
      result: decision.result,
      message: config.messages[decision.result],
      colour: config.colours[decision.result],
      details,
      source: "device",
    });
    if (decision.result === "ok") {
      setLastAction({ type: "scan", id: scan.scan_id, digest, admit: decision.admit, label: admissionLabel(row.name, decision.admit) });
    }
  }

  // ---------------------------------------------------------------- walk-ins

  function chosenAudience() {
    const checked = document.querySelector('input[name="door-audience"]:checked');
    return checked ? checked.value : "";
  }

  function walkIn(count) {
    const walkin = {
      client_id: newId(),
      count,
      occurrence_id: chosenOccurrence(),
      audience: chosenAudience(),
      device: config.device,
      recorded_at: new Date(serverNow()).toISOString(),
    };
    state.chain = state.chain.then(() => walkInNow(walkin)).catch(() => showNote("red", S.error));
    return state.chain;
  }

  async function walkInNow(walkin) {
    const done = () => {
      showNote("green", fmt(S.walkins_added, { count: walkin.count }));
      beep(true);
      setLastAction({ type: "walkin", id: walkin.client_id, count: walkin.count, label: "+" + walkin.count });
    };
    if (state.online) {
      try {
        const response = await request("POST", config.urls.walkins, Object.assign({ venue: config.venue, offline: false }, walkin));
        if (response.ok) {
          setCounts(response.data.counts);
          return done();
        }
        if (!isUnavailable(response)) {
          showNote("red", (response.data && response.data.message) || S.error);
          beep(false);
          return;
        }
        markUnavailable(response);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        goOffline();
      }
    }
    await queueAdd({
      created: Date.now(),
      payload: Object.assign({ type: "walkin", offline: true }, walkin),
      delta: { walk_ins: walkin.count },
    });
    done();
  }

  // ---------------------------------------------------------------- undo

  function undoLast() {
    const action = state.lastAction;
    if (!action) {
      showNote("idle", S.nothing_to_undo);
      return state.chain;
    }
    setLastAction(null);
    state.chain = state.chain.then(() => undoNow(action)).catch(() => showNote("red", S.error));
    return state.chain;
  }

  async function undoNow(action) {
    const isScan = action.type === "scan";
    const done = () => showNote("idle", isScan ? S.scan_undone : S.walkin_undone);
    if (state.online) {
      try {
        const response = isScan
          ? await request("POST", config.urls.undo, { scan_id: action.id })
          : await request("POST", config.urls.walkins_undo, { client_id: action.id });
        if (response.ok) {
          setCounts(response.data.counts);
          if (isScan) {
            const row = state.byDigest.get(action.digest);
            if (row) row.admitted = Math.max(row.admitted - action.admit, 0);
          }
          return done();
        }
        // 404: the action is still in this device's queue; undo it in the queue's order.
        if (!isUnavailable(response) && response.status !== 404) {
          showNote("red", (response.data && response.data.message) || S.error);
          return;
        }
        if (response.status !== 404) markUnavailable(response);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        goOffline();
      }
    }
    await queueAdd(
      isScan
        ? { created: Date.now(), payload: { type: "undo_scan", scan_id: action.id }, digest: action.digest, admit: action.admit, delta: { checked_in: -action.admit } }
        : { created: Date.now(), payload: { type: "undo_walkin", client_id: action.id }, delta: { walk_ins: -action.count } }
    );
    done();
    if (state.online) sync();
  }

  // ---------------------------------------------------------------- sync

  async function sync() {
    if (state.syncing) return;
    await queueReload();
    if (!state.queue.length) return;
    state.syncing = true;
    renderQueue();
    try {
      while (state.queue.length) {
        const batch = state.queue.slice(0, SYNC_BATCH);
        const response = await request("POST", config.urls.sync, {
          venue: config.venue,
          device: config.device,
          items: batch.map((item) => item.payload),
        });
        if (!response.ok) {
          if (isUnavailable(response)) markUnavailable(response);
          else {
            // The whole batch is malformed: it would never be accepted.
            state.refused += batch.length;
            await queueRemove(batch);
          }
          break;
        }
        response.data.results.forEach((result, index) => {
          const item = batch[index];
          if (result.status === "error") state.refused += 1;
          const row = item && item.digest && state.byDigest.get(item.digest);
          if (row && result.details && result.details.admitted !== undefined) row.admitted = result.details.admitted;
        });
        await queueRemove(batch);
        setCounts(response.data.counts);
        goOnline();
      }
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      goOffline();
    } finally {
      state.syncing = false;
      renderQueue();
    }
    if (state.online && !state.queue.length) {
      try {
        await refreshToday();
      } catch (error) {
        if (error instanceof NetworkError) goOffline();
      }
    }
  }

  // Back online (or maybe): sync what waits, else fetch a fresh list.
  async function probe() {
    try {
      await queueReload();
      if (state.queue.length) await sync();
      else await refreshToday();
    } catch (error) {
      if (error instanceof NetworkError) goOffline();
    }
    renderQueue();
  }

  // ---------------------------------------------------------------- camera

  let scanner = null;
  let lastCamera = { code: null, at: 0 };

  function onCameraCode(result) {
    const code = typeof result === "string" ? result : result.data;
    const now = Date.now();
    // A ticket held in front of the camera is read many times a second: once is enough.
    if (code === lastCamera.code && now - lastCamera.at < CAMERA_REPEAT_MS) {
      lastCamera.at = now;
      return;
    }
    lastCamera = { code, at: now };
    enqueueScan(code);
  }

  async function toggleCamera() {
    unlockAudio();
    if (scanner) {
      scanner.stop();
      scanner.destroy();
      scanner = null;
      el.video.hidden = true;
      el.camera.textContent = S.camera_start;
      el.camera.dataset.state = "off";
      return;
    }
    if (!window.QrScanner) {
      showNote("red", S.camera_failed);
      return;
    }
    el.video.hidden = false;
    // qr-scanner 1.4.2 loads its worker (qr-scanner-worker.min.js) from next to
    // its own file, the vendored copy in static/vendor/qr-scanner/.
    scanner = new window.QrScanner(el.video, onCameraCode, {
      returnDetailedScanResult: true,
      preferredCamera: "environment",
      maxScansPerSecond: 10,
      onDecodeError: () => {},
    });
    try {
      await scanner.start();
      el.camera.textContent = S.camera_stop;
      el.camera.dataset.state = "on";
    } catch (error) {
      scanner.destroy();
      scanner = null;
      el.video.hidden = true;
      el.camera.dataset.state = "error";
      showNote("red", S.camera_failed);
    }
  }

  // ---------------------------------------------------------------- service worker

  async function registerServiceWorker() {
    if (!("serviceWorker" in navigator)) return;
    try {
      await navigator.serviceWorker.register(config.urls.sw, { scope: config.urls.sw_scope });
      const registration = await navigator.serviceWorker.ready;
      const worker = registration.active;
      if (!worker) return;
      await new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => {
          document.documentElement.dataset.doorSw = event.data && event.data.ok ? "cached" : "failed";
          resolve();
        };
        worker.postMessage({ type: "precache", urls: config.precache }, [channel.port2]);
      });
    } catch (error) {
      document.documentElement.dataset.doorSw = "failed";
    }
  }

  // ---------------------------------------------------------------- start

  function refocus() {
    if (state.wedge) el.code.focus();
  }

  function wire() {
    el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      unlockAudio();
      state.wedge = true;
      const code = el.code.value.trim();
      el.code.value = "";
      el.code.focus();
      if (code) enqueueScan(code);
    });
    el.camera.addEventListener("click", toggleCamera);
    el.walkinOne.addEventListener("click", () => {
      unlockAudio();
      walkIn(1).then(refocus);
    });
    el.walkinMany.addEventListener("click", () => {
      unlockAudio();
      const count = parseInt(el.walkinCount.value, 10);
      if (!Number.isFinite(count) || count < 1 || count > config.walkin_max) {
        el.walkinCount.focus();
        return;
      }
      walkIn(count).then(refocus);
    });
    el.undo.addEventListener("click", () => {
      unlockAudio();
      undoLast().then(refocus);
    });
    document.addEventListener("keydown", unlockAudio, { once: true });
    window.addEventListener("online", probe);
    window.addEventListener("offline", goOffline);
    setInterval(() => {
      if (!state.online || state.queue.length) probe();
    }, RETRY_MS);
    setInterval(() => {
      if (state.online && !state.queue.length) probe();
    }, REFRESH_MS);
  }

  async function start() {
    config.device = deviceId();
    el.device.textContent = config.device;
    wire();
    try {
      const saved = await store.getDay(config.venue);
      if (saved) useDay(saved);
      if (saved && Date.parse(saved.fetched_at) > state.countsAt) setCounts(saved.counts);
    } catch (error) {
      // no saved list: offline answers will all be "unknown" until one is fetched
    }
    await queueReload();
    renderQueue();
    registerServiceWorker();
    await probe();
    document.documentElement.dataset.doorReady = "1";
  }

  start();
})();
