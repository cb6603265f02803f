// Logging in: the password, then a second factor when the user has one (POST /api/auth/mfa),
// or the enrolment of one when the role requires it and the user has none yet. The page
// holds the MFA step's token in memory only; the session itself is an HttpOnly cookie.

import { ApiError, post } from "./api.js";
import { $, el, replace } from "./dom.js";
import { describeError } from "./errors.js";

const CARDS = ["login-form", "mfa-form", "enrol-view"];

/** The words for a refused login step: a wrong password or code, the back-off's wait, an
 * expired step, the server unreachable (errors.js, in the page's language). */
export function loginError(error) {
  return describeError(error);
}

export class LoginFlow {
  /** ``onSession(user)``: a full session is open; ``onLogOut()``: the user gave up. */
  constructor({ onSession, onLogOut }) {
    this.onSession = onSession;
    this.onLogOut = onLogOut;
    this.mfaToken = null;
    this.user = null;
    $("login-form").addEventListener("submit", (event) => this.password(event));
    $("mfa-form").addEventListener("submit", (event) => this.code(event));
    $("mfa-back").addEventListener("click", () => this.showPassword());
    $("enrol-begin").addEventListener("click", () => this.beginEnrolment());
    $("enrol-form").addEventListener("submit", (event) => this.confirmEnrolment(event));
    $("enrol-done").addEventListener("click", () => this.onSession(this.user));
    $("enrol-logout").addEventListener("click", () => this.onLogOut());
  }

  show(card) {
    for (const id of CARDS) $(id).hidden = id !== card;
  }

  showPassword(message = "") {
    this.mfaToken = null;
    this.show("login-form");
    replace($("login-error"), message);
    $("login-password").value = "";
    $("login-username").focus();
  }

  showCode() {
    this.show("mfa-form");
    replace($("mfa-error"));
    $("mfa-code").value = "";
    $("mfa-code").focus();
  }

  /** A session that may only enrol a second factor (its role requires one). */
  showEnrolment(user) {
    this.user = user;
    this.show("enrol-view");
    replace($("enrol-error"));
    $("enrol-start").hidden = false;
    $("enrol-form").hidden = true;
    $("enrol-codes").hidden = true;
    replace($("enrol-secret"));
    replace($("enrol-uri"));
    replace($("enrol-code-list"));
  }

  async password(event) {
    event.preventDefault();
    replace($("login-error"));
    $("login-submit").disabled = true;
    try {
      const out = await post("/auth/login", {
        username: $("login-username").value.trim(),
        password: $("login-password").value,
      });
      $("login-password").value = ""; // the page keeps no password
      if (out.step === "mfa") {
        this.mfaToken = out.mfa_token;
        this.showCode();
      } else if (out.mfa_enrolment_required) {
        this.showEnrolment(out.user);
      } else {
        await this.onSession(out.user);
      }
    } catch (error) {
      replace($("login-error"), loginError(error));
    } finally {
      $("login-submit").disabled = false;
    }
  }

  async code(event) {
    event.preventDefault();
    replace($("mfa-error"));
    $("mfa-submit").disabled = true;
    try {
      const out = await post("/auth/mfa", { mfa_token: this.mfaToken, code: $("mfa-code").value.trim() });
      this.mfaToken = null;
      $("mfa-code").value = "";
      await this.onSession(out.user);
    } catch (error) {
      if (error instanceof ApiError && error.error === "mfa-step-expired") {
        this.showPassword(loginError(error));
      } else {
        replace($("mfa-error"), loginError(error));
        $("mfa-code").select();
      }
    } finally {
      $("mfa-submit").disabled = false;
    }
  }

  async beginEnrolment() {
    replace($("enrol-error"));
    try {
      const out = await post("/auth/mfa/enrol");
      replace($("enrol-secret"), out.secret.replace(/(.{4})/g, "$1 ").trim());
      replace($("enrol-uri"), out.otpauth_uri);
      $("enrol-start").hidden = true;
      $("enrol-form").hidden = false;
      $("enrol-code").focus();
    } catch (error) {
      replace($("enrol-error"), loginError(error));
    }
  }

  async confirmEnrolment(event) {
    event.preventDefault();
    replace($("enrol-error"));
    $("enrol-confirm").disabled = true;
    try {
      const out = await post("/auth/mfa/confirm", { code: $("enrol-code").value.trim() });
      $("enrol-code").value = "";
      $("enrol-form").hidden = true;
      const list = $("enrol-code-list");
      replace(list, out.recovery_codes.map((code) => el("li", {}, code)));
      $("enrol-codes").hidden = false;
    } catch (error) {
      replace($("enrol-error"), loginError(error));
    } finally {
      $("enrol-confirm").disabled = false;
    }
  }
}
