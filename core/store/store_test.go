package store_test

import (
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func TestRevocationKinds(t *testing.T) {
	for _, tt := range []struct {
		kind  store.RevocationKind
		known bool
	}{
		{store.RevokeSession, true},
		{store.RevokeToken, true},
		{store.RevokeUser, true},
		{store.RevokeClient, true},
		{store.RevokeAPIKey, true},
		{"", false},
		{"everything", false},
		{"Session", false},
	} {
		if got := tt.kind.Known(); got != tt.known {
			t.Errorf("RevocationKind(%q).Known() = %v, want %v", tt.kind, got, tt.known)
		}
	}
}

func TestAPIKeyLive(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name    string
		expires time.Time
		live    bool
	}{
		{"a key without expiry is live", time.Time{}, true},
		{"a key before its expiry is live", now.Add(time.Millisecond), true},
		{"a key at its expiry is dead", now, false},
		{"a key after its expiry is dead", now.Add(-time.Millisecond), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := store.APIKey{ExpiresAt: tt.expires}
			if got := k.Live(now); got != tt.live {
				t.Fatalf("Live = %v, want %v", got, tt.live)
			}
		})
	}
}

type wrapped struct {
	store.Store
	inner store.Store
}

func (w wrapped) Unwrap() store.Store { return w.inner }

type withClients struct {
	store.Store
	store.ClientStore
}

func TestAsLooksThroughWrappers(t *testing.T) {
	inner := withClients{}
	if _, ok := store.As[store.ClientStore](wrapped{inner: inner}); !ok {
		t.Fatal("As did not find the wrapped store's ability")
	}
	if _, ok := store.As[store.APIKeyStore](wrapped{inner: inner}); ok {
		t.Fatal("As found an ability no store has")
	}
	if _, ok := store.As[store.ClientStore](wrapped{inner: nil}); ok {
		t.Fatal("As found an ability behind nil")
	}
}
