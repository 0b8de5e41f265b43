// Which time window covers which minute of a week, as the router picks them: the first window that matches wins, an
// `always` window matches everything left, and a range that ends before it starts runs past midnight into the next
// day (it still belongs to the day it starts on). Holidays and exceptions name dates, so a week view leaves them out.
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const RANGE = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;

/** "08:00-12:00" -> {start: 480, end: 720} in minutes, or null when it is not a valid range. */
export function parseRange(text) {
  const m = RANGE.exec(String(text).trim());
  if (!m) return null;
  const [h1, m1, h2, m2] = m.slice(1).map(Number);
  if (h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || (h2 === 24 && m2 !== 0)) return null;
  const start = h1 * 60 + m1;
  const end = h2 * 60 + m2;
  return start === end ? null : { start, end };
}

/** For each day Mon..Sun: [{start, end, window}] with minutes 0..1440 and the index of the window that covers them. */
export function weekCoverage(windows) {
  const grid = DAYS.map(() => new Array(1440).fill(-1));
  windows.forEach((w, i) => {
    const paint = (d, from, to) => {
      const g = grid[d];
      for (let m = from; m < to; m++) if (g[m] === -1) g[m] = i;
    };
    if (w.always) {
      for (let d = 0; d < 7; d++) paint(d, 0, 1440);
      return;
    }
    DAYS.forEach((day, d) => {
      for (const text of w.weekly?.[day] ?? []) {
        const r = parseRange(text);
        if (!r) continue;
        if (r.end > r.start) paint(d, r.start, r.end);
        else {
          paint(d, r.start, 1440);
          paint((d + 1) % 7, 0, r.end);
        }
      }
    });
  });
  return grid.map((g, d) => ({ day: DAYS[d], segments: runs(g) }));
}

function runs(g) {
  const out = [];
  let start = 0;
  for (let m = 1; m <= g.length; m++) {
    if (m < g.length && g[m] === g[start]) continue;
    if (g[start] !== -1) out.push({ start, end: m, window: g[start] });
    start = m;
  }
  return out;
}

/** 480 -> "08:00" */
export function clock(minutes) {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}
