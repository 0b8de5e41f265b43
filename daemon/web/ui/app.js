// The admin page: session (login, forced password change), the frame (navigation, language, live status) and a
// hash router (#/chats/ID?status=new) that loads one page module at a time and cleans up the one before.
import { ApiError, api, onAuthLost, setCsrf } from "./api.js";
import { button, clear, div, failure, field, h, para } from "./dom.js";
import { LANGS, lang, setLang, t } from "./i18n.js";
import * as live from "./live.js";

const PAGES = [
  { id: "dashboard", load: () => import("./pages/dashboard.js") },
  { id: "chats", load: () => import("./pages/chats.js") },
  { id: "softphone", load: () => import("./pages/softphone.js") },
  { id: "agents", admin: true, load: () => import("./pages/agents.js") },
  { id: "windows", admin: true, load: () => import("./pages/windows.js") },
  { id: "flows", admin: true, load: () => import("./pages/flows.js") },
  { id: "knowledge", admin: true, load: () => import("./pages/knowledge.js") },
  { id: "numbers", admin: true, load: () => import("./pages/numbers.js") },
  { id: "users", admin: true, load: () => import("./pages/users.js") },
  { id: "retention", admin: true, load: () => import("./pages/retention.js") },
  { id: "system", admin: true, load: () => import("./pages/system.js") },
  { id: "audit", admin: true, load: () => import("./pages/audit.js") },
];
const detail = { id: "chat-detail", load: () => import("./pages/chat-detail.js") };

const root = document.getElementById("app");
let session = null;
let cleanup = null;
let rendering = 0;
let ringing = null;

onAuthLost((why) => {
  if (why === "password" && session) {
    session.user.mustChange = true;
    showPasswordChange();
  } else if (session) {
    signOut(false);
    showLogin(t("login.expired"));
  }
});

window.addEventListener("hashchange", () => session && !session.user.mustChange && route());
document.documentElement.lang = lang();
boot();

async function boot() {
  try {
    signedIn(await api.get("/api/session"));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) showLogin();
    else clear(root).append(h("main", { class: "center" }, failure(err), button(t("common.retry"), boot)));
  }
}

function signedIn(s) {
  session = s;
  setCsrf(s.csrf);
  if (s.user.mustChange) return showPasswordChange();
  frame();
}

async function signOut(tell = true) {
  live.stop();
  ringing?.();
  ringing = null;
  cleanup?.();
  cleanup = null;
  if (tell) await api.post("/api/logout").catch(() => undefined);
  session = null;
  setCsrf("");
}

function langSelect() {
  const sel = h(
    "select",
    { testid: "lang-select", "aria-label": t("app.language") },
    LANGS.map(([v, label]) => h("option", { value: v, selected: v === lang() }, label)),
  );
  sel.addEventListener("change", () => {
    setLang(sel.value);
    if (!session) showLogin();
    else if (session.user.mustChange) showPasswordChange();
    else frame();
  });
  return sel;
}

function showLogin(notice) {
  document.title = `${t("login.title")} · Switchboard`;
  const user = h("input", { name: "username", autocomplete: "username", required: true, testid: "login-user" });
  const pass = h("input", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    testid: "login-password",
  });
  const msg = h("p", { class: "field-error", role: "alert", testid: "login-error", hidden: !notice }, notice ?? "");
  const submit = h("button", { type: "submit", class: "primary", testid: "login-submit" }, t("login.submit"));
  const form = h(
    "form",
    { class: "card login", testid: "login-form", novalidate: true },
    div("row between", h("h1", null, "Switchboard"), langSelect()),
    para("muted", t("login.intro")),
    field(t("login.user"), user),
    field(t("login.password"), pass, t("login.firstBoot")),
    msg,
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!user.value.trim() || !pass.value) return (user.value.trim() ? pass : user).focus();
    submit.disabled = true;
    msg.hidden = true;
    try {
      signedIn(await api.post("/api/login", { user: user.value.trim(), password: pass.value }));
    } catch (err) {
      msg.hidden = false;
      msg.textContent =
        err.status === 401
          ? t("login.wrong")
          : err.status === 429
            ? t("login.tooMany", { s: err.retryAfter ?? "60" })
            : err.message;
      pass.select();
    } finally {
      submit.disabled = false;
    }
  });
  clear(root).append(h("main", { class: "center" }, form));
  user.focus();
}

function showPasswordChange() {
  cleanup?.();
  cleanup = null;
  document.title = `${t("password.title")} · Switchboard`;
  const current = h("input", {
    type: "password",
    autocomplete: "current-password",
    required: true,
    testid: "password-current",
    path: "current",
  });
  const next = h("input", {
    type: "password",
    autocomplete: "new-password",
    required: true,
    minlength: 10,
    testid: "password-next",
    path: "next",
  });
  const again = h("input", {
    type: "password",
    autocomplete: "new-password",
    required: true,
    testid: "password-repeat",
    path: "repeat",
  });
  const msg = h("p", { class: "field-error", role: "alert", testid: "password-error", hidden: true });
  const submit = h("button", { type: "submit", class: "primary", testid: "password-submit" }, t("password.submit"));
  const form = h(
    "form",
    { class: "card login", testid: "password-form", novalidate: true },
    div("row between", h("h1", null, t("password.title")), langSelect()),
    para("muted", t("password.intro", { user: session.user.name })),
    field(t("password.current"), current),
    field(t("password.next"), next, t("password.rules")),
    field(t("password.repeat"), again),
    msg,
    div(
      "row between",
      button(t("app.logout"), () => signOut().then(() => showLogin())),
      submit,
    ),
  );
  const fail = (text) => {
    msg.hidden = false;
    msg.textContent = text;
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.hidden = true;
    if (next.value.length < 10) return fail(t("password.tooShort"));
    if (next.value === current.value) return fail(t("password.same"));
    if (next.value !== again.value) return fail(t("password.mismatch"));
    submit.disabled = true;
    try {
      await api.post("/api/password", { current: current.value, next: next.value });
      session.user.mustChange = false;
      frame();
    } catch (err) {
      fail(err.where === "current" || err.status === 401 ? t("password.wrongCurrent") : err.message);
    } finally {
      submit.disabled = false;
    }
  });
  clear(root).append(h("main", { class: "center" }, form));
  current.focus();
}

function frame() {
  const admin = session.user.role === "admin";
  const dot = h("span", { class: "live-dot", testid: "live-status", role: "status" });
  const nav = h(
    "nav",
    { class: "nav", "aria-label": t("app.navigation") },
    h(
      "ul",
      null,
      PAGES.filter((p) => admin || !p.admin).map((p) =>
        h("li", null, h("a", { href: `#/${p.id}`, testid: `nav-${p.id}`, "data-page": p.id }, t(`nav.${p.id}`))),
      ),
    ),
  );
  const menu = button("☰", () => document.body.classList.toggle("nav-open"), {
    class: "icon menu-toggle",
    "aria-label": t("app.menu"),
  });
  const header = h(
    "header",
    { class: "topbar" },
    menu,
    h(
      "a",
      { class: "brand", href: "#/dashboard" },
      h("img", { src: "/favicon.svg", alt: "", width: 24, height: 24 }),
      h("span", null, "Switchboard"),
    ),
    h("span", { class: "grow" }),
    dot,
    langSelect(),
    h("span", { class: "who", testid: "user-name" }, session.user.name),
    button(t("app.logout"), () => signOut().then(() => showLogin()), { testid: "logout" }),
  );
  const main = h("main", { id: "page", class: "page", tabindex: "-1" });
  // Outside the app root so a ringing call survives a language switch or a page change.
  let rings = document.getElementById("rings");
  if (!rings) {
    rings = h("aside", { id: "rings", class: "rings", "aria-live": "assertive", testid: "rings" });
    document.body.append(rings);
  }
  clear(root).append(
    h("a", { class: "skip", href: "#page", onclick: skipToMain }, t("app.skip")),
    header,
    div("layout", nav, main),
  );
  live.onStatus((up) => {
    dot.classList.toggle("up", up);
    dot.title = up ? t("app.liveOn") : t("app.liveOff");
    dot.setAttribute("aria-label", dot.title);
  });
  live.start();
  if (!ringing)
    import("./pages/softphone.js").then((m) => {
      if (session && !ringing) ringing = m.installRinging(rings);
    });
  route();
}

function skipToMain(e) {
  e.preventDefault();
  document.getElementById("page")?.focus();
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

/** Moves to a page; `query` becomes the hash's query string (filters survive a reload). */
export function navigate(path, query) {
  const q = query ? new URLSearchParams(query).toString() : "";
  const next = `#/${path}${q ? `?${q}` : ""}`;
  if (location.hash === next) route();
  else location.hash = next;
}

async function route() {
  const { parts, query } = parseHash();
  const admin = session.user.role === "admin";
  let page = PAGES.find((p) => p.id === (parts[0] ?? "dashboard") && (admin || !p.admin));
  if (page?.id === "chats" && parts[1]) page = detail;
  if (!page) return navigate("dashboard");
  const main = document.getElementById("page");
  const seq = ++rendering;
  cleanup?.();
  cleanup = null;
  document.body.classList.remove("nav-open");
  for (const a of document.querySelectorAll(".nav a")) {
    const on = a.dataset.page === (page === detail ? "chats" : page.id);
    a.classList.toggle("active", on);
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${t(`nav.${page === detail ? "chats" : page.id}`)} · Switchboard`;
  clear(main).append(para("muted", t("common.loading")));
  try {
    const mod = await page.load();
    if (seq !== rendering) return;
    clear(main);
    const done = await mod.render(main, { user: session.user, params: parts.slice(1), query, navigate });
    if (seq !== rendering) done?.();
    else cleanup = typeof done === "function" ? done : null;
  } catch (err) {
    if (seq === rendering) clear(main).append(failure(err));
  }
}
