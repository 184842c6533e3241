package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authframe "github.com/authframe/authframe/core"
)

func TestKeygenWritesAKeyTheGuardTakes(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"keygen"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	g, err := authframe.New(authframe.WithKey(authframe.Key{PEM: out.Bytes()}), authframe.WithIssuer("https://i"), authframe.WithAudience("a"))
	if err != nil {
		t.Fatalf("the Guard refused the generated key: %v", err)
	}
	g.Close()

	path := filepath.Join(t.TempDir(), "signing.pem")
	if err := run(context.Background(), []string{"keygen", "--alg", "ES256", "--out", path}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v: want mode 0600", fi, err)
	}
	if err := run(context.Background(), []string{"keygen", "--out", path}, &out, &errb); err == nil {
		t.Fatal("keygen replaced an existing key file")
	}
	if err := run(context.Background(), []string{"keygen", "--alg", "HS256"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "HS256") {
		t.Fatalf("an HMAC algorithm: %v", err)
	}
}
