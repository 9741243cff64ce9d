// The end of a 3-D Secure challenge: post the CRes back to the shop at once (the button stays for browsers
// without JavaScript). A static file, not an inline script: the challenge pages keep the strict CSP.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-auto-submit]");
  if (form) {
    form.submit();
  }
});
