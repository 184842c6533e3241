package examples_test

import (
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authframe/authframe/core/adaptertest"
)

// The repository README's program is the first thing a new user copies: it must compile
// against this checkout and stay within 25 lines beyond imports and key loading.
func TestRootReadmeProgram(t *testing.T) { adaptertest.ReadmeProgram(t, "../README.md", 25) }

// The README's test is what a user copies next: it must be gofmt-formatted, and compile
// and pass against this checkout, run as a test of a package inside this module.
func TestRootReadmeTest(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH, so the README's test cannot be run")
	}
	md, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(md), "\n## Testing your app\n")
	if !ok {
		t.Fatal(`README.md has no "## Testing your app" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "\n```go\n")
	if !ok {
		t.Fatal("the testing section has no ```go block")
	}
	src, _, ok := strings.Cut(block, "\n```\n")
	if !ok {
		t.Fatal("the testing section's ```go block is not closed")
	}
	src += "\n"
	if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
		t.Fatalf("the README's test is not gofmt-formatted (%v):\n%s", err, formatted)
	}
	dir, err := os.MkdirTemp(".", "readme-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "app_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(goCmd, "test", "-count=1", "./"+filepath.Base(dir)).CombinedOutput(); err != nil {
		t.Fatalf("go test of the README's test: %v\n%s", err, out)
	}
}

// The core README's programs of a section compile too: each section's first ```go block is
// held to ReadmeProgram's rules (no line budget).
func TestCoreReadmeSectionPrograms(t *testing.T) {
	md, err := os.ReadFile("../core/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, heading := range []string{"## Service clients (OAuth 2.0 client credentials)"} {
		_, section, ok := strings.Cut(string(md), "\n"+heading+"\n")
		if !ok {
			t.Fatalf("core/README.md has no %q section", heading)
		}
		section, _, _ = strings.Cut(section, "\n## ")
		f := filepath.Join(t.TempDir(), "section.md")
		if err := os.WriteFile(f, []byte(section), 0o644); err != nil {
			t.Fatal(err)
		}
		adaptertest.ReadmeProgram(t, f, 0)
	}
}
