// The development shop (/dev/shop/): a form marked data-autosubmit is sent as soon as the page is parsed, as a
// 3DS server's page sends the CReq into the challenge frame and the notification page leads back to the shop.
// Its button is for a browser without JavaScript; once the form is sent it is hidden, so nothing is sent twice.
"use strict";

document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
  form.querySelectorAll("[data-autosubmit-fallback]").forEach((element) => {
    element.hidden = true;
  });
  form.submit();
});
