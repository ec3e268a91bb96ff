// Starts Swagger UI for /api/docs from the settings the page carries in data attributes
// (kept out of the page itself so the Content-Security-Policy needs no inline scripts).
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  var config = {
    url: container.dataset.specUrl,
    dom_id: "#swagger-ui-container",
    // The public validator badge would call validator.swagger.io: keep the docs offline.
    validatorUrl: null
  };
  var overrides = JSON.parse(container.dataset.config || "{}");
  Object.keys(overrides).forEach(function (name) { config[name] = overrides[name]; });
  window.addEventListener("load", function () {
    window.ui = SwaggerUIBundle(config);
  });
})();
