/*
 * Passkeys (WebAuthn) on a page: a form marked data-passkey="create" (add a passkey) or data-passkey="get"
 * (confirm with one) asks the browser's authenticator when it is submitted, puts the signed answer into its
 * hidden "credential" field and then submits for real. The options (with the server's one-time challenge) are
 * a JSON data block the template writes with json_script; its id is in data-passkey-options.
 *
 * Without WebAuthn's JSON helpers (older browsers) the form is hidden and its data-passkey-unsupported
 * element shown instead: the page's other way (the code) still works. Errors and a cancelled prompt are
 * announced in the form's status element (role="status"), the text coming from data-passkey-error.
 */
(function () {
  "use strict";

  var supported =
    typeof window.PublicKeyCredential === "function" &&
    typeof window.PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof window.PublicKeyCredential.parseRequestOptionsFromJSON === "function";

  function ask(mode, options) {
    if (mode === "create") {
      return navigator.credentials.create({
        publicKey: window.PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
    }
    return navigator.credentials.get({
      publicKey: window.PublicKeyCredential.parseRequestOptionsFromJSON(options),
    });
  }

  function setUp(form) {
    var mode = form.getAttribute("data-passkey");
    var optionsElement = document.getElementById(form.getAttribute("data-passkey-options"));
    var field = form.querySelector("input[name='credential']");
    var status = form.querySelector("[data-passkey-status]");
    if (!supported || !optionsElement || !field) {
      form.hidden = true;
      var fallback = document.querySelector("[data-passkey-unsupported]");
      if (fallback) {
        fallback.hidden = false;
      }
      return;
    }
    var asking = false;
    form.addEventListener("submit", function (event) {
      if (field.value) {
        return; // the answer is in: this is the real submit
      }
      event.preventDefault();
      if (asking) {
        return;
      }
      asking = true;
      if (status) {
        status.textContent = form.getAttribute("data-passkey-waiting") || "";
      }
      var submitter = event.submitter || null;
      ask(mode, JSON.parse(optionsElement.textContent))
        .then(function (credential) {
          field.value = JSON.stringify(credential.toJSON());
          if (typeof form.requestSubmit === "function") {
            form.requestSubmit(submitter);
          } else {
            form.submit();
          }
        })
        .catch(function () {
          field.value = "";
          if (status) {
            status.textContent = form.getAttribute("data-passkey-error") || "";
          }
        })
        .then(function () {
          asking = false;
        });
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(setUp);
})();
