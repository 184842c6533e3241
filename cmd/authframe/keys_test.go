package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeysGenerateListRotate(t *testing.T) {
	ru := os.Getenv("AUTHFRAME_TEST_REDIS_URL")
	if ru == "" {
		if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("AUTHFRAME_TEST_REDIS_URL must be set")
		}
		t.Skip("set AUTHFRAME_TEST_REDIS_URL to run the keys command test")
	}
	ctx := context.Background()
	prefix := fmt.Sprintf("afkeys:%d:", time.Now().UnixNano()%1e9)
	t.Cleanup(func() { cleanRedis(t, ru, prefix) })
	dir := t.TempDir()
	kek := filepath.Join(dir, "kek.bin")
	if err := os.WriteFile(kek, bytes.Repeat([]byte{0x5a}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.bin")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	keysCmd := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"keys", args[0], "--store", ru, "--prefix", prefix}, args[1:]...), &out, &errOut)
		return out.String(), err
	}
	expect := func(want string, args ...string) string {
		t.Helper()
		out, err := keysCmd(args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("keys %v = %q, %v; want it to say %q", args, out, err, want)
		}
		return out
	}
	refuse := func(want string, args ...string) {
		t.Helper()
		if out, err := keysCmd(args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("keys %v = %q, %v; want an error saying %q", args, out, err, want)
		}
	}

	expect("the ring is empty", "list")
	refuse("--kek-file is required", "generate")
	refuse("at least 32 are required", "generate", "--kek-file", short)
	first := expect("is active", "generate", "--kek-file", kek, "--propagation", "300ms")
	expect("as next", "generate", "--kek-file", kek, "--propagation", "300ms", "--alg", "ES256")
	refuse("is next already", "generate", "--kek-file", kek, "--propagation", "300ms")
	refuse("it may sign from", "rotate", "--kek-file", kek, "--propagation", "300ms")
	time.Sleep(400 * time.Millisecond)
	expect("is active", "rotate", "--kek-file", kek, "--propagation", "300ms")
	refuse("no next key", "rotate", "--kek-file", kek, "--propagation", "300ms")
	list := expect("retiring", "list")
	firstKid := strings.Fields(first)[0]
	if !strings.Contains(list, firstKid) || !strings.Contains(list, "ES256") || strings.Count(list, "\n") != 3 {
		t.Fatalf("list:\n%s", list)
	}
	refuse("unknown command", "burn")
}
