package redisstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func TestRolesRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
	}{
		{"no roles", nil},
		{"one role", []string{"admin"}},
		{"several roles", []string{"admin", "member", "billing:read"}},
		{"roles holding separators and digits", []string{"1:2", "", "a|b", "10:x:y"}},
		{"a long role", []string{string(make([]byte, 300))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRoles(encodeRoles(tt.roles))
			if err != nil || !slices.Equal(got, tt.roles) {
				t.Fatalf("round trip = %q, %v; want %q", got, err, tt.roles)
			}
		})
	}
}

func TestCorruptRolesAreRefused(t *testing.T) {
	for _, in := range []string{"x", "5:abc", ":a", "-1:a", "2:ab3"} {
		if _, err := decodeRoles(in); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeRoles(%q) = %v, want ErrCorrupt", in, err)
		}
	}
}

func TestRevocationsRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	tests := []struct {
		name string
		r    store.Revocation
	}{
		{"a session", store.Revocation{Kind: store.RevokeSession, Key: "sid", At: at, ExpiresAt: at.Add(time.Hour)}},
		{"a key with the separator", store.Revocation{Kind: store.RevokeToken, Key: "a|b|c", At: at, ExpiresAt: at.Add(time.Minute)}},
		{"an empty key", store.Revocation{Kind: store.RevokeUser, At: at, ExpiresAt: at}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRevocation(encodeRevocation(tt.r))
			if err != nil || got.Kind != tt.r.Kind || got.Key != tt.r.Key || !got.At.Equal(tt.r.At) || !got.ExpiresAt.Equal(tt.r.ExpiresAt) {
				t.Fatalf("round trip = %+v, %v; want %+v", got, err, tt.r)
			}
		})
	}
	for _, bad := range []string{"", "v2|session|1|2|k", "v1|session|x|2|k", "v1|session|1|k"} {
		if _, err := decodeRevocation(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeRevocation(%q) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestSessionsRoundTripThroughTheirHashFields(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123).UTC()
	in := store.Session{
		ID: "s1", UserID: "u1", Username: "alice", Roles: []string{"a", "b"}, Kind: "cookie",
		CSRFHash: []byte{0, 1, 2, 255}, UserAgent: "ua", IP: "192.0.2.1", CreatedAt: now,
		LastSeenAt: now.Add(time.Second), IdleTimeout: 30 * time.Minute, ExpiresAt: now.Add(time.Hour),
	}
	args := sessionArgs(&in)
	m := map[string]any{}
	for i := 0; i < len(args); i += 2 {
		switch v := args[i+1].(type) {
		case string:
			m[args[i].(string)] = v
		case []byte:
			m[args[i].(string)] = string(v)
		}
	}
	vals := make([]any, len(sessionFields))
	for i, f := range sessionFields {
		vals[i] = m[f]
	}
	got, found, err := decodeSession("s1", vals)
	if err != nil || !found {
		t.Fatalf("decodeSession = %v, %v", found, err)
	}
	if got.ID != in.ID || got.UserID != in.UserID || got.Username != in.Username || !slices.Equal(got.Roles, in.Roles) ||
		got.Kind != in.Kind || string(got.CSRFHash) != string(in.CSRFHash) || got.UserAgent != in.UserAgent || got.IP != in.IP ||
		!got.CreatedAt.Equal(in.CreatedAt) || !got.LastSeenAt.Equal(in.LastSeenAt) || got.IdleTimeout != in.IdleTimeout || !got.ExpiresAt.Equal(in.ExpiresAt) {
		t.Fatalf("decoded %+v\nwant    %+v", got, in)
	}
	if len(m) != len(sessionFields) {
		t.Fatalf("sessionArgs writes %d fields, sessionFields reads %d", len(m), len(sessionFields))
	}

	if _, found, err := decodeSession("s1", make([]any, len(sessionFields))); found || err != nil {
		t.Fatalf("a missing hash = %v, %v; want not found", found, err)
	}
	vals[iExpires] = nil
	if _, _, err := decodeSession("s1", vals); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a hash without its deadline decoded: %v", err)
	}
	vals[iExpires], vals[iData] = m[sExpires], "3:abc"
	if _, _, err := decodeSession("s1", vals); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a hash with a short record decoded: %v", err)
	}
}

func TestTheScriptsReadTheFieldsTheCodecWrites(t *testing.T) {
	// The scripts other than rotate name these fields literally.
	for name, got := range map[string]string{"last seen": sLastSeen, "idle": sIdle, "expires": sExpires, "user": sUser} {
		want := map[string]string{"last seen": "l", "idle": "i", "expires": "e", "user": "u"}[name]
		if got != want {
			t.Errorf("the %s field is %q, the scripts read %q", name, got, want)
		}
	}
	for i, want := range map[int]string{iData: sData, iUser: sUser, iLastSeen: sLastSeen, iIdle: sIdle, iExpires: sExpires} {
		if sessionFields[i] != want {
			t.Errorf("sessionFields[%d] = %q, want %q", i, sessionFields[i], want)
		}
	}
}

func TestSessionRecordsOfVersionOneStillDecode(t *testing.T) {
	created := time.UnixMilli(1_700_000_000_000).UTC()
	d := encodeRoles([]string{packVersion1, "alice", encodeRoles([]string{"user"}), "cookie", "h", "ua", "192.0.2.1", ms(created)})
	vals := []any{d, "u1", ms(created), "0", ms(created.Add(time.Hour))}
	got, found, err := decodeSession("s1", vals)
	if err != nil || !found {
		t.Fatalf("decodeSession = %v, %v", found, err)
	}
	if got.Username != "alice" || got.AMR != nil || !got.AuthTime.IsZero() || !got.CreatedAt.Equal(created) {
		t.Fatalf("decoded %+v", got)
	}
	in := store.Session{ID: "s2", UserID: "u2", Kind: "token", CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(time.Hour),
		AMR: []string{"pwd", "otp"}, AuthTime: created.Add(-time.Minute)}
	args := sessionArgs(&in)
	m := map[string]any{}
	for i := 0; i < len(args); i += 2 {
		m[args[i].(string)] = args[i+1]
	}
	vals = make([]any, len(sessionFields))
	for i, f := range sessionFields {
		vals[i] = m[f]
	}
	got, _, err = decodeSession("s2", vals)
	if err != nil || !slices.Equal(got.AMR, in.AMR) || !got.AuthTime.Equal(in.AuthTime) {
		t.Fatalf("decoded AMR %q, AuthTime %v, %v; want %q, %v", got.AMR, got.AuthTime, err, in.AMR, in.AuthTime)
	}
}

// A client record written by an earlier release (version 1 of its layout, the only one so
// far) stays readable whatever the sessions' layout has become.
func TestClientRecordsOfEarlierReleasesDecode(t *testing.T) {
	created := time.UnixMilli(1796319441154)
	v := encodeRoles([]string{"1", "svc", encodeRoles([]string{"read:reports", "write:*"}), "0123456789abcdef0123456789abcdef", ms(created), "0"})
	c, err := decodeClient("cl_x", v)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "cl_x" || c.Name != "svc" || !slices.Equal(c.Scopes, []string{"read:reports", "write:*"}) || !c.CreatedAt.Equal(created) || c.Disabled {
		t.Fatalf("decoded %+v", c)
	}
	back, err := decodeClient("cl_x", encodeClient(&c))
	if err != nil || back.Name != c.Name {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

// BenchmarkDecodeRevocation is the work per member of RevocationsSince and of the feed's
// replay, for a revocation of a session.
func BenchmarkDecodeRevocation(b *testing.B) {
	now := time.Now()
	m := encodeRevocation(store.Revocation{Kind: store.RevokeSession, Key: "Jx2m0Zl4qgXvCk1pO9dS3w", At: now, ExpiresAt: now.Add(time.Hour)})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRevocation(m); err != nil {
			b.Fatal(err)
		}
	}
}

// A key holding "|" decodes whole: it is the member's last part.
func TestARevocationKeyMayHoldTheSeparator(t *testing.T) {
	now := time.Now().Truncate(time.Millisecond).UTC()
	want := store.Revocation{Kind: store.RevokeToken, Key: "a|b|c", At: now, ExpiresAt: now.Add(time.Hour)}
	got, err := decodeRevocation(encodeRevocation(want))
	if err != nil || got.Kind != want.Kind || got.Key != want.Key || !got.At.Equal(want.At) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "v1|", "v1|session|1", "v1|session|1|2", "v1|session|x|2|k", "v2|session|1|2|k"} {
		if _, err := decodeRevocation(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decode(%q) = %v, want ErrCorrupt", bad, err)
		}
	}
}
