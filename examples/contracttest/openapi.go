package contracttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/authframe/authframe/examples"
)

// OpenAPI is examples/openapi.yaml, loaded and validated once: the document itself, and a
// router over its paths that ignores its servers (the apps under test listen on free
// ports). A document that does not validate fails every request of the suite.
var OpenAPI = sync.OnceValues(func() (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(examples.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("examples/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("examples/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("examples/openapi.yaml: %w", err)
	}
	return &Spec{Doc: doc, router: router}, nil
})

// Spec is the loaded document with its router.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router
}

// validationOptions: the security requirements of a request are taken as met (a no-op
// AuthenticationFunc), because the suite sends requests without credentials or with bad
// ones on purpose (its 401 checks); what the app answers them is checked against the
// document's 401 instead. Every status an app answers must be documented for its
// operation.
var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
}

// ValidatingTransport checks every request it carries and the response to it against
// examples/openapi.yaml, and turns any disagreement into the round trip's error, naming
// the method, path, status and schema error:
//
//   - A request the document accepts gets a response the document lists for its
//     operation (status, headers, body).
//   - A request the document rejects (the suite sends malformed, oversized and encoded
//     bodies on purpose) must be answered with a documented 4xx response; a 2xx, 3xx or
//     5xx answer to it is an error, since the app accepted what the document refuses.
//   - A path the document does not describe, or a method it does not list for a path,
//     must be answered 404 or 405 in the contract's error shape (schema Error), as the
//     document's description says of unknown routes.
type ValidatingTransport struct {
	// Next sends the requests; http.DefaultTransport when nil.
	Next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (v ValidatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	spec, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	next := v.Next
	if next == nil {
		next = http.DefaultTransport
	}
	var body []byte
	if req.Body != nil {
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}

	route, params, routeErr := spec.router.FindRoute(req)
	var reqErr error
	if routeErr == nil {
		in := &openapi3filter.RequestValidationInput{Request: req.Clone(req.Context()), PathParams: params, Route: route, Options: validationOptions}
		in.Request.Body = io.NopCloser(bytes.NewReader(body))
		reqErr = openapi3filter.ValidateRequest(req.Context(), in)
	}

	resp, err := next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	fail := func(format string, args ...any) (*http.Response, error) {
		return nil, fmt.Errorf("examples/openapi.yaml: %s %s answered %d: %s", req.Method, req.URL.Path, resp.StatusCode, fmt.Sprintf(format, args...))
	}
	if routeErr != nil {
		// The router answers a fresh RouteError whose Reason is one of the sentinels'.
		re, ok := errors.AsType[*routers.RouteError](routeErr)
		if !ok || re.Reason != routers.ErrPathNotFound.Error() && re.Reason != routers.ErrMethodNotAllowed.Error() {
			return fail("finding the route: %v", routeErr)
		}
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			return fail("the document has no such operation (%v), so the answer must be 404 or 405", routeErr)
		}
		if err := spec.validateError(respBody); err != nil {
			return fail("an unknown route's answer is not the Error shape: %v", err)
		}
		return resp, nil
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                validationOptions,
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		return fail("%v", err)
	}
	if reqErr != nil && (resp.StatusCode < 400 || resp.StatusCode >= 500) {
		return fail("the document rejects the request (%v), yet the app did not refuse it with a 4xx", reqErr)
	}
	return resp, nil
}

// validateError checks body against components.schemas.Error.
func (s *Spec) validateError(body []byte) error {
	ref := s.Doc.Components.Schemas["Error"]
	if ref == nil || ref.Value == nil {
		return errors.New("the document has no Error schema")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("body %q is not JSON", body)
	}
	return ref.Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}
