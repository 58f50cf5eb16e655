// /api/docs: Swagger UI over the app's own OpenAPI document (vendored, no CDN, no
// validator badge — it would call validator.swagger.io).  "Try it out" with a session:
// unsafe methods carry the page's CSRF token, as the dashboard's own calls do.
(function () {
  "use strict";
  const root = document.getElementById("swagger-ui");
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const unsafe = new Set(["POST", "PUT", "PATCH", "DELETE"]);
  window.SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    requestInterceptor: function (req) {
      if (csrf && unsafe.has(String(req.method).toUpperCase())) {
        req.headers["X-CSRF-Token"] = csrf;
      }
      return req;
    },
    // the page walk (and anyone scripting the page) waits for this mark
    onComplete: function () {
      document.body.dataset.ready = "1";
    },
  });
})();
