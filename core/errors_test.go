package authframe_test

import (
	"encoding/json"
	"net/http"
	"testing"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

func TestRenderErrorOfNilIsAnInternalError(t *testing.T) {
	r := endpoint.RenderError(nil, "req-1")
	if r.Status != http.StatusInternalServerError {
		t.Fatalf("status %d", r.Status)
	}
	var b endpoint.ErrorBody
	if err := json.Unmarshal(r.Body, &b); err != nil || b.Error.Code != authframe.ErrInternal || b.RequestID != "req-1" {
		t.Fatalf("body %s (%v)", r.Body, err)
	}
}
