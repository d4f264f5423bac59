// Passkeys for the Passerelle console: the only script of /admin. Buttons
// marked data-passkey are hidden until this runs in a browser with WebAuthn;
// everything else works without it.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) return;
  const dec = (s) => {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    s += "=".repeat((4 - (s.length % 4)) % 4);
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  };
  const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const status = document.getElementById("passkey-status");
  const say = (msg) => { if (status) status.textContent = msg; };
  async function post(url, csrf, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? "{}" : JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || "HTTP " + r.status);
    return data;
  }
  function credentialJSON(c) {
    const out = { id: c.id, rawId: enc(c.rawId), type: c.type, response: {}, clientExtensionResults: c.getClientExtensionResults() };
    for (const k of ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]) {
      if (c.response[k]) out.response[k] = enc(c.response[k]);
    }
    if (c.response.getTransports) out.response.transports = c.response.getTransports();
    if (c.authenticatorAttachment) out.authenticatorAttachment = c.authenticatorAttachment;
    return out;
  }
  const add = document.getElementById("add-passkey");
  if (add) {
    add.hidden = false;
    add.addEventListener("click", async () => {
      try {
        const o = await post("/admin/passkeys/options", add.dataset.csrf);
        const pk = o.publicKey;
        pk.challenge = dec(pk.challenge);
        pk.user.id = dec(pk.user.id);
        (pk.excludeCredentials || []).forEach((c) => { c.id = dec(c.id); });
        const c = await navigator.credentials.create({ publicKey: pk });
        const done = await post("/admin/passkeys", add.dataset.csrf, credentialJSON(c));
        say(done.message);
      } catch (e) { say(e.message); }
    });
  }
  const login = document.getElementById("passkey-login");
  if (login) {
    login.hidden = false;
    login.addEventListener("click", async () => {
      try {
        const o = await post("/admin/login/passkey/options", login.dataset.csrf);
        const pk = o.publicKey;
        pk.challenge = dec(pk.challenge);
        (pk.allowCredentials || []).forEach((c) => { c.id = dec(c.id); });
        const c = await navigator.credentials.get({ publicKey: pk });
        const done = await post("/admin/login/passkey?next=" + encodeURIComponent(login.dataset.next), login.dataset.csrf, credentialJSON(c));
        window.location.assign(done.next);
      } catch (e) { say(e.message); }
    });
  }
})();
