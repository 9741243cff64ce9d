/*
 * The idle-timeout warning (docs/sessions.md).
 *
 * The server ends a session after SESSION_IDLE_TIMEOUT seconds without
 * activity; this script only warns SESSION_WARNING_LEAD seconds before and
 * offers a one-click extension. It reads the limits from data attributes on
 * #session-timeout (no inline script: the CSP forbids it) and asks the server
 * how much time is left before warning, so that activity in another tab is
 * taken into account. Asking does not extend the session; only the button does.
 */
(function () {
  "use strict";

  var root = document.getElementById("session-timeout");
  var dialog = document.getElementById("session-warning");
  if (!root || !dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var idle = Number(root.dataset.idleSeconds);
  var lead = Number(root.dataset.warningSeconds);
  var statusUrl = root.dataset.statusUrl;
  var loginUrl = root.dataset.loginUrl;
  var extendForm = dialog.querySelector("form[data-session-extend]");
  var extendButton = extendForm.querySelector("button");
  var countdown = dialog.querySelector("[data-session-countdown]");
  var announcer = document.getElementById("session-announcer");

  var checkTimer = null;
  var tickTimer = null;
  var deadline = 0;
  var returnFocus = null;

  function schedule(remainingSeconds) {
    window.clearTimeout(checkTimer);
    var wait = Math.max(0, remainingSeconds - lead) * 1000;
    checkTimer = window.setTimeout(check, wait);
  }

  function signedOut() {
    // The server has ended the session (and left a message for the login page).
    var next = window.location.pathname + window.location.search;
    window.location.assign(loginUrl + "?next=" + encodeURIComponent(next));
  }

  function readJson(response) {
    if (response.status === 401) {
      return { expired: true };
    }
    if (!response.ok) {
      throw new Error("session status " + response.status);
    }
    return response.json();
  }

  function check() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(readJson)
      .then(function (data) {
        if (data.expired) {
          signedOut();
        } else if (data.remaining > lead) {
          // Activity elsewhere (another tab) moved the end: wait again.
          close(false);
          schedule(data.remaining);
        } else {
          warn(data.remaining);
        }
      })
      .catch(function () {
        // The network failed: try again shortly rather than sign out on a hiccup.
        checkTimer = window.setTimeout(check, 5000);
      });
  }

  function render() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = String(left);
    return left;
  }

  function tick() {
    if (render() <= 0) {
      window.clearInterval(tickTimer);
      tickTimer = null;
      // Ask the server: it decides whether the session has ended.
      window.setTimeout(check, 500);
    }
  }

  function warn(remainingSeconds) {
    deadline = Date.now() + remainingSeconds * 1000;
    render();
    if (!tickTimer) {
      tickTimer = window.setInterval(tick, 1000);
    }
    if (!dialog.open) {
      returnFocus = document.activeElement;
      dialog.showModal();
      extendButton.focus();
    }
  }

  function close(restoreFocus) {
    window.clearInterval(tickTimer);
    tickTimer = null;
    if (dialog.open) {
      dialog.close();
    }
    if (restoreFocus && returnFocus && typeof returnFocus.focus === "function") {
      returnFocus.focus();
    }
    returnFocus = null;
  }

  function announce(text) {
    if (!announcer) {
      return;
    }
    // Emptied first so that the same words are announced again the next time.
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 100);
  }

  extendForm.addEventListener("submit", function (event) {
    event.preventDefault();
    extendButton.disabled = true;
    fetch(extendForm.action, {
      method: "POST",
      body: new FormData(extendForm),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (response) {
        if (response.status === 403) {
          // The CSRF token went stale: let the plain form post do it.
          extendForm.submit();
          return null;
        }
        return readJson(response);
      })
      .then(function (data) {
        if (data === null) {
          return;
        }
        if (data.expired) {
          signedOut();
          return;
        }
        close(true);
        announce(root.dataset.extendedText);
        schedule(data.remaining);
      })
      .catch(function () {
        extendForm.submit();
      })
      .finally(function () {
        extendButton.disabled = false;
      });
  });

  // Escape closes the warning; the countdown still ends the session on time.
  dialog.addEventListener("cancel", function () {
    window.setTimeout(function () {
      if (returnFocus && typeof returnFocus.focus === "function") {
        returnFocus.focus();
      }
    }, 0);
  });

  schedule(idle);
})();
