// Starts Swagger UI from the settings the page carries as JSON data. A separate
// file, not an inline script: the site's Content-Security-Policy allows only
// scripts from its own origin.
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("swagger-settings").textContent);
  settings.dom_id = "#swagger-ui";
  settings.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  window.ui = SwaggerUIBundle(settings);
})();
