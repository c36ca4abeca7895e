"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    // The page has an opaque origin: storage would throw, and nothing must outlive the tab.
    persistAuthorization: false,
  });
})();
