// The API docs page: Swagger UI on vinpath's own OpenAPI document, with
// "Try it out" sending real requests (paste a token under Authorize).
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#api",
  deepLinking: true,
  persistAuthorization: false,
});
