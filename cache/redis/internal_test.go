package rediscache

import (
	"strings"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func TestRevocationEncoding(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	tests := []struct {
		name string
		r    store.Revocation
		ok   bool
	}{
		{"a session revocation round-trips", store.Revocation{Kind: store.RevokeSession, Key: "sid-1", At: at, ExpiresAt: at.Add(15 * time.Minute)}, true},
		{"a token revocation round-trips", store.Revocation{Kind: store.RevokeToken, Key: "jti", At: at, ExpiresAt: at.Add(time.Hour)}, true},
		{"a user revocation round-trips", store.Revocation{Kind: store.RevokeUser, Key: "u", At: at, ExpiresAt: at.Add(24 * time.Hour)}, true},
		{"a client revocation round-trips", store.Revocation{Kind: store.RevokeClient, Key: "client-1", At: at, ExpiresAt: at.Add(time.Hour)}, true},
		{"an API key revocation round-trips", store.Revocation{Kind: store.RevokeAPIKey, Key: "key-1", At: at, ExpiresAt: at.Add(24 * time.Hour)}, true},
		{"an unknown kind is refused", store.Revocation{Kind: "everything", Key: "k", At: at, ExpiresAt: at}, false},
		{"an empty key is refused", store.Revocation{Kind: store.RevokeToken, At: at, ExpiresAt: at}, false},
		{"a revocation without expiry is refused", store.Revocation{Kind: store.RevokeToken, Key: "k", At: at}, false},
		{"an oversized key is refused", store.Revocation{Kind: store.RevokeToken, Key: strings.Repeat("k", 4096), At: at, ExpiresAt: at}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := encodeRevocation(tt.r)
			if !tt.ok {
				if err == nil {
					t.Fatalf("encoded %q", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			again, _ := encodeRevocation(tt.r)
			if again != s {
				t.Fatalf("encoding is not deterministic: %q vs %q", s, again)
			}
			got, err := decodeRevocation(s)
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.r.Kind || got.Key != tt.r.Key || !got.At.Equal(tt.r.At) || !got.ExpiresAt.Equal(tt.r.ExpiresAt) {
				t.Fatalf("decoded %+v, want %+v", got, tt.r)
			}
		})
	}
}

func TestRevocationExpiryRoundsUp(t *testing.T) {
	exp := time.UnixMilli(1_700_000_000_000).Add(time.Microsecond)
	s, err := encodeRevocation(store.Revocation{Kind: store.RevokeToken, Key: "k", At: exp, ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := decodeRevocation(s)
	if got.ExpiresAt.Before(exp) {
		t.Fatalf("expiry %v ends before %v", got.ExpiresAt, exp)
	}
}

func TestDecodeRevocationRefusesJunk(t *testing.T) {
	for _, s := range []string{"", "{", "null", `{"k":"session"}`, `{"k":"x","key":"a","at":1,"exp":2}`, `{"k":"user","key":"a","at":-1,"exp":2}`, strings.Repeat(" ", 3000)} {
		if r, err := decodeRevocation(s); err == nil {
			t.Errorf("decodeRevocation(%q) = %+v", s, r)
		}
	}
}

func FuzzDecodeRevocation(f *testing.F) {
	f.Add(`{"k":"session","key":"sid","at":1700000000000,"exp":1700000900000}`)
	f.Add(`{"k":"user","key":"","at":0,"exp":0}`)
	f.Add(`{"k":"api_key","key":"k1","at":1700000000000,"exp":1700000900000}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := decodeRevocation(s)
		if err != nil {
			return
		}
		if r.Key == "" || r.At.IsZero() || r.ExpiresAt.IsZero() {
			t.Fatalf("accepted an incomplete revocation %+v from %q", r, s)
		}
		if _, err := encodeRevocation(r); err != nil {
			t.Fatalf("decoded %+v from %q but cannot encode it: %v", r, s, err)
		}
	})
}
