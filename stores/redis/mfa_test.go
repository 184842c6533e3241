package redisstore

import (
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/authframe/authframe/core/store"
)

func TestMFAAndReplayLayout(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	now := time.Now()
	if err := s.PutMFA(ctx, store.MFA{UserID: "u1", SealedSecret: []byte("sealed"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmMFA(ctx, "u1", []byte("sealed"), 42, [][]byte{[]byte("r1"), []byte("r2")}); err != nil {
		t.Fatal(err)
	}
	until := now.Add(time.Minute)
	most := time.Until(until) + time.Millisecond // the TTL is rounded up to the millisecond
	if _, err := s.Remember(ctx, "jkt:jti", until); err != nil {
		t.Fatal(err)
	}
	want := []string{prefix + "mfa:u1", prefix + "replay:jkt:jti"}
	if got := keysUnder(t, c, prefix); !slices.Equal(got, want) {
		t.Fatalf("keys = %q, want %q", got, want)
	}
	r1, r2 := "r:"+hex.EncodeToString([]byte("r1")), "r:"+hex.EncodeToString([]byte("r2"))
	if fields := must(t, c.HKeys(ctx, prefix+"mfa:u1")); !sameSet(fields, []string{"s", "c", "l", "t", r1, r2}) {
		t.Fatalf("fields of a two-factor record = %q", fields)
	}
	if d := must(t, c.PTTL(ctx, prefix+"mfa:u1")); d != -1 {
		t.Errorf("TTL of a two-factor record = %v, want none", d)
	}
	if d := must(t, c.PTTL(ctx, prefix+"replay:jkt:jti")); d <= 0 || d > most {
		t.Errorf("TTL of a replay key = %v, want about %v", d, time.Until(until))
	}
	if ok, _ := s.UseRecoveryCode(ctx, "u1", []byte("r1")); !ok {
		t.Fatal("UseRecoveryCode refused a code of the record")
	}
	if fields := must(t, c.HKeys(ctx, prefix+"mfa:u1")); !sameSet(fields, []string{"s", "c", "l", "t", r2}) {
		t.Fatalf("fields after a recovery code was used = %q, want its field gone", fields)
	}
}

func TestStepsKeepTheirOrderAsStrings(t *testing.T) {
	steps := []int64{math.MinInt64, -1 << 53, -2, -1, 0, 1, 2, 59_000_000, 1<<53 - 1, 1 << 53, 1<<53 + 1, math.MaxInt64}
	for i, st := range steps {
		enc := encodeStep(st)
		if got, err := decodeStep(enc); err != nil || got != st {
			t.Fatalf("decodeStep(encodeStep(%d)) = %d, %v", st, got, err)
		}
		if i > 0 && encodeStep(steps[i-1]) >= enc {
			t.Fatalf("encodeStep(%d) = %s does not sort after encodeStep(%d) = %s", st, enc, steps[i-1], encodeStep(steps[i-1]))
		}
	}
}

func TestCorruptMFARecordsAreErrors(t *testing.T) {
	c := testClient(t)
	prefix := testPrefix(t, c)
	s := newTestStoreOn(t, c, prefix)
	ctx := testCtx(t)
	for name, fields := range map[string][]any{
		"no secret":      {"c", "1", "l", encodeStep(1), "t", "0"},
		"a bad step":     {"s", "x", "c", "1", "l", "12", "t", "0"},
		"a bad time":     {"s", "x", "c", "0", "l", encodeStep(1), "t", "yesterday"},
		"a bad recovery": {"s", "x", "c", "0", "l", encodeStep(1), "t", "0", "r:zz", "0"},
	} {
		key := prefix + "mfa:" + name
		c.HSet(ctx, key, fields...)
		if _, _, err := s.GetMFA(ctx, name); !errors.Is(err, ErrCorrupt) {
			t.Errorf("GetMFA of a record with %s = %v, want ErrCorrupt", name, err)
		}
	}
}
