package authhttp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	authframe "github.com/authframe/authframe/core"
)

func TestRequireMFAAnswersStepUp(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := authhttp.RequireMFA(5 * time.Minute)(ok)
	for _, tc := range []struct {
		name   string
		p      *authframe.Principal
		status int
		code   string
	}{
		{"no principal", nil, http.StatusUnauthorized, "invalid_token"},
		{"a password login", &authframe.Principal{UserID: "u", AMR: []string{"pwd"}, AuthTime: time.Now()}, http.StatusForbidden, "mfa_required"},
		{"a second factor too long ago", &authframe.Principal{UserID: "u", AMR: []string{"pwd", "otp"}, AuthTime: time.Now().Add(-time.Hour)}, http.StatusForbidden, "mfa_required"},
		{"a recent second factor", &authframe.Principal{UserID: "u", AMR: []string{"pwd", "otp"}, AuthTime: time.Now()}, http.StatusNoContent, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/sensitive", nil)
		if tc.p != nil {
			r = authframe.RequestWithPrincipal(r, tc.p)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.status)
			continue
		}
		if tc.code != "" {
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != tc.code {
				t.Errorf("%s: body %s, want code %s", tc.name, w.Body, tc.code)
			}
		}
	}
}
