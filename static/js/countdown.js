/*
 * A live countdown of a temporary raise of limits (docs/controls.md).
 *
 * The server renders the time left in words and the end as data-until (ISO
 * 8601); this keeps the words current, in the page's language, from the two
 * patterns the server gives in data attributes (no inline script: the CSP
 * forbids it). When the end comes it says so; the card core applies the card's
 * own limits by itself at that moment, whatever the page shows.
 */
(function () {
  "use strict";

  var element = document.querySelector("[data-countdown-until]");
  if (!element) {
    return;
  }
  var until = Date.parse(element.dataset.countdownUntil);
  if (isNaN(until)) {
    return;
  }
  var hoursMinutes = element.dataset.patternHours; // e.g. "%(hours)s h %(minutes)s min left"
  var minutesOnly = element.dataset.patternMinutes; // e.g. "%(minutes)s min left"
  var ended = element.dataset.patternEnded;

  function render() {
    var left = until - Date.now();
    if (left <= 0) {
      element.textContent = ended;
      return false;
    }
    var minutes = Math.ceil(left / 60000);
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    var pattern = hours > 0 ? hoursMinutes : minutesOnly;
    element.textContent = pattern.replace("%(hours)s", String(hours)).replace("%(minutes)s", String(rest));
    return true;
  }

  if (render()) {
    var timer = window.setInterval(function () {
      if (!render()) {
        window.clearInterval(timer);
      }
    }, 15000);
  }
})();
