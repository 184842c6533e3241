package app

import (
	"net/http"

	"github.com/authframe/authframe/examples"
)

// OpenAPI is the OpenAPI 3.1 description of the apps' contract, examples/openapi.yaml,
// embedded once (by the examples package) and served by every app at GET /openapi.yaml.
var OpenAPI = examples.OpenAPI

// OpenAPIHandler serves OpenAPI as application/yaml.
var OpenAPIHandler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(OpenAPI)
})
