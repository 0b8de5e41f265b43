// Live events from GET /api/events (server-sent events). One EventSource for the whole page; pages subscribe per
// event type and unsubscribe when they close. The browser retries a dropped stream by itself, but gives up on an HTTP
// error (e.g. a restarting daemon answering 502), so a closed stream is reopened here with a growing delay.
const handlers = new Map();
const statusFns = new Set();
let source = null;
let wanted = false;
let timer;
let delay = 1000;
let connected = false;

/** fn(data) for every event of `type`; returns the unsubscribe function. */
export function on(type, fn) {
  let set = handlers.get(type);
  if (!set) {
    set = new Set();
    handlers.set(type, set);
    if (source) attach(source, type);
  }
  set.add(fn);
  return () => set.delete(fn);
}

/** fn(connected: boolean) whenever the stream opens or drops; called at once with the current state. */
export function onStatus(fn) {
  statusFns.add(fn);
  fn(connected);
  return () => statusFns.delete(fn);
}

export function start() {
  wanted = true;
  if (!source) connect();
}

export function stop() {
  wanted = false;
  clearTimeout(timer);
  source?.close();
  source = null;
  setStatus(false);
}

function connect() {
  clearTimeout(timer);
  if (!wanted) return;
  const es = new EventSource("/api/events");
  source = es;
  for (const type of handlers.keys()) attach(es, type);
  es.onopen = () => {
    delay = 1000;
    setStatus(true);
  };
  es.onerror = () => {
    setStatus(false);
    if (es.readyState !== EventSource.CLOSED) return;
    es.close();
    if (source === es) source = null;
    timer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30_000);
  };
}

function attach(es, type) {
  es.addEventListener(type, (ev) => {
    let data;
    try {
      data = ev.data ? JSON.parse(ev.data) : {};
    } catch {
      return;
    }
    for (const fn of handlers.get(type) ?? []) {
      try {
        fn(data);
      } catch (err) {
        console.error(`live ${type} handler`, err);
      }
    }
  });
}

function setStatus(up) {
  if (up === connected) return;
  connected = up;
  for (const fn of statusFns) fn(up);
}
