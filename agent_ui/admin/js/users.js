// Users and roles: the accounts (GET /api/admin/users), a new one with its first password,
// role, branch, extension and whether it is active (PATCH: deactivating logs the user out
// everywhere), a new password, and a reset of the second factor (a lost phone).

import { get, patch, post } from "../../js/api.js";
import { $, el, replace } from "../../js/dom.js";
import { language, t, term } from "../../js/i18n.js";
import { clearErrors, errorText, fillTable, options, showError, showSaved } from "./form.js";

const ROLES = ["agent", "advisor", "supervisor", "branch", "compliance", "quality", "admin"];

class Users {
  page = "users";
  list = [];
  branches = [];
  editing = null; // the user being changed; null: a new one

  init({ canChange, me }) {
    this.canChange = canChange;
    this.me = me;
    $("user-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("password-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.setPassword();
    });
    $("user-mfa-reset").addEventListener("click", () => this.resetMfa());
    $("users-new").addEventListener("click", () => this.edit(null));
  }

  async load() {
    try {
      [this.list, this.branches] = await Promise.all([get("/admin/users"), get("/admin/branches")]);
      replace($("users-error"));
    } catch (error) {
      replace($("users-error"), errorText(error));
    }
    if (this.editing) this.editing = this.list.find((u) => u.id === this.editing.id) ?? null;
    this.render();
  }

  branchName(id) {
    const branch = this.branches.find((b) => b.id === id);
    if (!branch) return "";
    return `${branch.code} ${language().startsWith("zh") ? branch.name : branch.name_en}`;
  }

  render() {
    fillTable(
      $("users-table"),
      ["adm.user.username", "adm.user.display_name", "adm.user.role", "adm.user.branch", "adm.user.extension", ""],
      this.list.map((user) =>
        el(
          "tr",
          { class: [user.active ? "" : "inactive", this.editing?.id === user.id ? "selected" : ""].join(" ").trim() || null, dataset: { username: user.username } },
          el("td", {}, user.username),
          el("td", {}, user.display_name),
          el("td", {}, term("role", user.role)),
          el("td", {}, this.branchName(user.branch_id)),
          el("td", {}, user.extension ?? ""),
          el("td", {}, el("button", { type: "button", class: "link", onclick: () => this.edit(user) }, t(this.canChange ? "adm.edit" : "adm.show"))),
        ),
      ),
    );
    this.renderForm();
  }

  edit(user) {
    this.editing = user;
    const form = $("user-form");
    form.reset();
    clearErrors(form);
    clearErrors($("password-form"));
    this.render();
    form.elements.namedItem(user ? "display_name" : "username").focus();
  }

  renderForm() {
    const form = $("user-form");
    const user = this.editing;
    replace($("user-form-title"), user ? t("adm.user.edit_title", { username: user.username }) : t("adm.user.new_title"));
    for (const node of form.querySelectorAll(".create-only")) node.hidden = Boolean(user);
    for (const node of form.querySelectorAll(".edit-only")) node.hidden = !user;
    const field = (name) => form.elements.namedItem(name);
    options(field("role"), ROLES.map((role) => [role, term("role", role)]), user?.role ?? (field("role").value || "agent"));
    options(
      field("branch_id"),
      [["", t("adm.user.no_branch")], ...this.branches.map((b) => [String(b.id), this.branchName(b.id)])],
      user ? (user.branch_id ?? "") : field("branch_id").value,
    );
    field("username").readOnly = Boolean(user);
    if (user) {
      field("username").value = user.username;
      if (!form.dataset.filledFor || form.dataset.filledFor !== String(user.id)) {
        field("display_name").value = user.display_name;
        field("extension").value = user.extension ?? "";
        field("active").checked = user.active;
      }
      form.dataset.filledFor = String(user.id);
    } else {
      delete form.dataset.filledFor;
    }
    $("password-form").hidden = !user || !this.canChange;
  }

  async save() {
    const form = $("user-form");
    const field = (name) => form.elements.namedItem(name);
    const branch = field("branch_id").value;
    const common = {
      display_name: field("display_name").value,
      role: field("role").value,
      branch_id: branch ? Number(branch) : null,
      extension: field("extension").value.trim() || null,
    };
    try {
      if (this.editing) {
        const out = await patch(`/admin/users/${this.editing.id}`, { ...common, active: field("active").checked });
        this.editing = out.user;
        await this.load();
        showSaved(form, out.sessions_ended ? t("adm.user.saved_logged_out", { count: out.sessions_ended }) : t("adm.saved"));
      } else {
        const user = await post("/admin/users", { ...common, username: field("username").value.trim(), password: field("password").value });
        this.editing = user;
        await this.load();
        showSaved(form, t("adm.user.created", { username: user.username }));
      }
    } catch (error) {
      showError(form, error);
    }
  }

  async setPassword() {
    const form = $("password-form");
    try {
      const out = await post(`/admin/users/${this.editing.id}/password`, { password: form.elements.namedItem("password").value });
      form.reset();
      showSaved(form, t("adm.user.password_set", { count: out.sessions_ended }));
    } catch (error) {
      showError(form, error);
    }
  }

  async resetMfa() {
    const form = $("password-form");
    if (!window.confirm(t("adm.user.reset_mfa_confirm", { username: this.editing.username }))) return;
    try {
      const out = await post(`/admin/users/${this.editing.id}/mfa-reset`);
      showSaved(form, t("adm.user.mfa_reset", { count: out.sessions_ended }));
    } catch (error) {
      showError(form, error);
    }
  }
}

export const users = new Users();
