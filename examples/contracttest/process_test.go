package contracttest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// frameworks are the example apps; each is built from examples/<name>.
var frameworks = []string{"nethttp", "gin", "echo", "fiber"}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// examplesDir is the examples module root (this package's parent).
func examplesDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// binary builds every example once per test run and returns the path of one.
func binary(t *testing.T, fw string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "authframe-examples-")
		if buildErr != nil {
			return
		}
		for _, f := range frameworks {
			if _, err := os.Stat(filepath.Join(examplesDir(), f, "main.go")); err != nil {
				continue
			}
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, f), "./"+f)
			cmd.Dir = examplesDir()
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build ./%s: %v\n%s", f, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	p := filepath.Join(binDir, fw)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("example %s was not built: %v", fw, err)
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects a process's output safely.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Proc is a running example app.
type Proc struct {
	Base string
	Addr string
	cmd  *exec.Cmd
	Logs *syncBuffer
	env  []string
	bin  string
	// exited is closed when the process has ended.
	exited chan struct{}
}

// Start runs the example fw with env (ADDR is added) and waits until /healthz answers.
func Start(t *testing.T, fw string, env ...string) *Proc {
	t.Helper()
	p := &Proc{bin: binary(t, fw), Addr: freeAddr(t)}
	p.env = append(env, "ADDR="+p.Addr)
	p.Base = "http://" + p.Addr
	p.start(t)
	t.Cleanup(p.Stop)
	return p
}

func (p *Proc) start(t *testing.T) {
	t.Helper()
	p.Logs = &syncBuffer{}
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(p.cmd, p.exited)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.Base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("example %s exited at start:\n%s", filepath.Base(p.bin), p.Logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("example %s did not start:\n%s", filepath.Base(p.bin), p.Logs)
}

// Restart stops the process and starts it again with the same environment.
func (p *Proc) Restart(t *testing.T) {
	t.Helper()
	p.Stop()
	p.start(t)
}

// Stop ends the process.
func (p *Proc) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// TestContract runs the whole contract against every example app, each a real process
// with the default configuration plus an administrator, and then scans its logs for every
// secret the checks used.
func TestContract(t *testing.T) {
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(examplesDir(), fw, "main.go")); err != nil {
				t.Fatalf("examples/%s is missing", fw)
			}
			adminPass := "admin-pass-" + fw + "-0123"
			proc := Start(t, fw, "AUTHFRAME_ADMIN_USER=root", "AUTHFRAME_ADMIN_PASSWORD="+adminPass)
			secrets := &Secrets{}
			secrets.Add(adminPass)
			tg := Target{Base: proc.Base, AdminUser: "root", AdminPassword: adminPass, CookieName: "__Host-session", Secrets: secrets}
			Run(t, tg)
			checkMetricsAfterRun(t, tg)
			logs := proc.Logs.String()
			for _, s := range secrets.List() {
				if strings.Contains(logs, s) {
					t.Errorf("the logs contain a secret (%d bytes, starting %.4q)", len(s), s)
				}
			}
		})
	}
}

// TestInsecureCookiesForLocalDevelopment checks the development switch: the cookie is
// "session" without Secure, and everything else works the same.
func TestInsecureCookiesForLocalDevelopment(t *testing.T) {
	proc := Start(t, "nethttp", "AUTHFRAME_INSECURE_COOKIES=1")
	tg := Target{Base: proc.Base, CookieName: "session", Secrets: &Secrets{}}
	name, pass := tg.Register(t, "dev")
	_, _, resp := tg.Session(t, name, pass)
	sc := strings.ToLower(setCookie(t, resp, "session"))
	if strings.Contains(sc, "secure") {
		t.Fatalf("development cookie %q carries Secure", sc)
	}
	checkSession(t, tg)
}

// TestBadConfigurationStopsAtOnce checks that each bad value stops the app with a one-line
// error naming the variable.
func TestBadConfigurationStopsAtOnce(t *testing.T) {
	bin := binary(t, "nethttp")
	cases := []struct{ env, want string }{
		{"AUTHFRAME_STORE=mongo", "AUTHFRAME_STORE"},
		{"AUTHFRAME_CACHE=memcached", "AUTHFRAME_CACHE"},
		{"AUTHFRAME_SECRET=short", "AUTHFRAME_SECRET"},
		{"AUTHFRAME_KEY_FILE=/nonexistent/key.pem", "AUTHFRAME_KEY_FILE"},
		{"AUTHFRAME_ACCESS_TTL=fifteen", "AUTHFRAME_ACCESS_TTL"},
		{"AUTHFRAME_SESSION_IDLE=-5m", "AUTHFRAME_SESSION_IDLE"},
		{"AUTHFRAME_LOGIN_LIMIT=many", "AUTHFRAME_LOGIN_LIMIT"},
		{"AUTHFRAME_FAIL_OPEN=yes", "AUTHFRAME_FAIL_OPEN"},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "ADDR="+freeAddr(t), c.env)
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the app started with a bad configuration")
			}
			if err == nil {
				t.Fatalf("exit status 0 for %s", c.env)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, c.want) {
				t.Fatalf("error %q does not name %s", out, c.want)
			}
		})
	}
}
