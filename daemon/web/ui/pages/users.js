// Users: admins and staff. A new user and a reset password must be replaced at the first login; locked accounts
// (too many failed logins) can be unlocked; nobody can delete themselves or the last admin (the server checks).
import { api, problemsOf } from "../api.js";
import {
  badge,
  button,
  card,
  clear,
  clearProblems,
  confirmDialog,
  div,
  failure,
  field,
  h,
  select,
  showProblems,
  table,
  toast,
} from "../dom.js";
import { fmtDateTime, t } from "../i18n.js";

const ROLES = ["admin", "staff"];

export async function render(main, { user: me }) {
  const listBox = h("div", { testid: "users" });
  main.append(
    h("h1", null, t("nav.users")),
    card(t("users.list"), listBox),
    newUserForm(() => load()),
  );

  async function load() {
    clear(listBox);
    let users;
    try {
      users = await api.get("/api/users");
    } catch (err) {
      return listBox.append(failure(err));
    }
    listBox.append(
      table(
        [t("users.name"), t("users.displayName"), t("users.role"), t("users.state"), ""],
        users.map((u) => userRow(u, me, load)),
        { testid: "user-table" },
      ),
    );
  }
  await load();
}

function userRow(u, me, reload) {
  const patch = async (body, done) => {
    try {
      await api.patch(`/api/users/${encodeURIComponent(u.name)}`, body);
      toast(done);
      reload();
    } catch (err) {
      toast(err.message, "error");
    }
  };
  const role = select(
    ROLES.map((r) => [r, t(`role.${r}`)]),
    u.role,
    { "aria-label": t("users.role"), disabled: u.name === me.name, testid: "user-role" },
  );
  role.addEventListener("change", () => patch({ role: role.value }, t("common.saved")));
  const locked = u.lockedUntil && u.lockedUntil > Date.now();
  return h(
    "tr",
    { testid: "user-row", "data-user": u.name },
    h("td", null, h("strong", null, u.name), u.name === me.name ? ` (${t("users.you")})` : ""),
    h("td", null, u.displayName ?? ""),
    h("td", null, role),
    h(
      "td",
      null,
      locked ? badge(t("users.locked", { until: fmtDateTime(u.lockedUntil) }), "bad") : null,
      u.mustChange ? badge(t("users.mustChange"), "warn") : null,
      !locked && !u.mustChange ? badge(t("users.active"), "ok") : null,
    ),
    h(
      "td",
      { class: "row end" },
      locked
        ? button(t("users.unlock"), () => patch({ unlock: true }, t("users.unlocked")), { testid: "user-unlock" })
        : null,
      button(t("users.reset"), () => resetPassword(u, patch), { testid: "user-reset" }),
      u.name === me.name
        ? null
        : button(
            t("common.delete"),
            async () => {
              if (
                !(await confirmDialog(t("users.deleteAsk", { name: u.name }), { danger: true, ok: t("common.delete") }))
              )
                return;
              try {
                await api.del(`/api/users/${encodeURIComponent(u.name)}`);
                toast(t("users.deleted"));
                reload();
              } catch (err) {
                toast(err.message, "error");
              }
            },
            { class: "danger", testid: "user-delete" },
          ),
    ),
  );
}

async function resetPassword(u, patch) {
  const password = newPassword();
  if (!(await confirmDialog(t("users.resetAsk", { name: u.name, password })))) return;
  await patch({ password }, t("users.resetDone", { name: u.name }));
}

/** A random 16-character start password (the user must replace it at the first login). */
function newPassword() {
  const abc = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => abc[b % abc.length]).join("");
}

function newUserForm(done) {
  const name = h("input", {
    required: true,
    autocomplete: "off",
    path: "name",
    testid: "new-user-name",
    pattern: "[A-Za-z0-9._\\-]+",
  });
  const displayName = h("input", { path: "displayName", testid: "new-user-display" });
  const role = select(
    ROLES.map((r) => [r, t(`role.${r}`)]),
    "staff",
    { path: "role", testid: "new-user-role" },
  );
  const password = h("input", {
    value: newPassword(),
    required: true,
    minlength: 10,
    autocomplete: "off",
    path: "password",
    testid: "new-user-password",
    class: "mono",
  });
  const form = h(
    "form",
    { class: "card", testid: "new-user", novalidate: true },
    h("h2", null, t("users.new")),
    div(
      "grid3",
      field(t("users.name"), name),
      field(t("users.displayName"), displayName),
      field(t("users.role"), role),
    ),
    field(t("users.startPassword"), password, t("users.startPasswordHint")),
    div("row end", h("button", { type: "submit", class: "primary", testid: "new-user-submit" }, t("users.create"))),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblems(form);
    try {
      const body = { name: name.value.trim(), role: role.value, password: password.value };
      if (displayName.value.trim()) body.displayName = displayName.value.trim();
      await api.post("/api/users", body);
      toast(t("users.created", { name: body.name }));
      name.value = "";
      displayName.value = "";
      password.value = newPassword();
      done();
    } catch (err) {
      showProblems(
        form,
        problemsOf(err).map((p) => ({ ...p, path: String(p.path ?? "").replace(/^body\./, "") })),
      );
    }
  });
  return form;
}
