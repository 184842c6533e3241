package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// testBudget bounds the whole test: build, app, browser and every step.
	testBudget = 55 * time.Second
	// stepTimeout bounds one browser step.
	stepTimeout = 10 * time.Second
	// stopTimeout bounds the graceful stop of the app and of the browser.
	stopTimeout = 5 * time.Second

	installHint = "install it (Debian/Ubuntu: apt-get install -y chromium) or set AUTHFRAME_TEST_CHROMIUM to a Chrome or Chromium binary"
)

// TestBrowserSessionFlow signs in through the page of the net/http example in a real
// headless Chromium, and follows the cookie session through a reload, a CSRF-protected
// call and the logout.
func TestBrowserSessionFlow(t *testing.T) {
	chromium := findChromium(t)

	deadline := time.Now().Add(testBudget)
	if d, ok := t.Deadline(); ok && d.Add(-5*time.Second).Before(deadline) {
		deadline = d.Add(-5 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	t.Cleanup(cancel) // registered first, so it runs last

	app := startApp(t, ctx)
	const username = "browser-user"
	password := "browser-pass-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	app.register(t, ctx, username, password)

	b := startBrowser(t, ctx, chromium)
	shots := newShots(t)

	// The login form.
	b.step(t, "open the page",
		chromedp.Navigate(app.base+"/"),
		chromedp.WaitVisible(chromedp.ID("login-button")),
	)
	b.step(t, "fill in and submit the login form",
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login-button")),
	)
	signedIn := fmt.Sprintf(`document.getElementById("whoami").textContent === %s && !document.getElementById("app").classList.contains("hidden")`, jsString(username))
	b.waitJS(t, "#whoami shows the username after login", signedIn)
	b.step(t, "the signed-in view is shown and the form hidden",
		chromedp.WaitVisible(chromedp.ID("app")),
		chromedp.WaitNotVisible(chromedp.ID("login")),
	)
	if m := b.eval(t, "auth method", `document.getElementById("method").textContent`); m != "session" {
		t.Fatalf("#method = %q, want session", m)
	}
	if pw := b.eval(t, "password field", `document.getElementById("password").value`); pw != "" {
		t.Fatal("the page keeps the password in the form after login")
	}

	// The cookie as the browser stores it: HttpOnly (invisible to scripts), Lax, Path=/.
	cookie := b.sessionCookie(t, app.base)
	if cookie == nil {
		t.Fatal(`the browser stored no "session" cookie after login`)
	}
	if !cookie.HTTPOnly || cookie.SameSite != network.CookieSameSiteLax || cookie.Path != "/" || cookie.Secure {
		t.Fatalf("session cookie: HttpOnly=%v SameSite=%q Path=%q Secure=%v; want HttpOnly, Lax, /, not Secure (insecure development mode)",
			cookie.HTTPOnly, cookie.SameSite, cookie.Path, cookie.Secure)
	}
	if dc := b.eval(t, "document.cookie", `document.cookie`); strings.Contains(dc, "session=") {
		t.Fatalf("the session cookie is readable from JavaScript: document.cookie = %q", dc)
	}
	csrf := b.eval(t, "CSRF token", `sessionStorage.getItem("csrf_token") || ""`)
	if csrf == "" {
		t.Fatal("the page kept no CSRF token in sessionStorage after login")
	}
	shots.take(t, b, "01-signed-in.png")

	// A reload keeps the session: the cookie is sent and /api/me answers.
	b.step(t, "reload the page", chromedp.Reload())
	b.waitJS(t, "#whoami shows the username after a reload", signedIn)

	// The protected action through the page's own button (with X-CSRF-Token).
	b.step(t, "click #echo-button", chromedp.Click(chromedp.ID("echo-button")))
	b.waitJS(t, `#echo-result starts with "200"`, `document.getElementById("echo-result").textContent.startsWith("200")`)
	if res := b.eval(t, "#echo-result", `document.getElementById("echo-result").textContent`); !strings.Contains(res, `"hello":"world"`) {
		t.Fatalf("#echo-result = %q, want the echoed body", res)
	}
	shots.take(t, b, "02-protected-action.png")

	// The same call from within the page, without and with a wrong X-CSRF-Token: the
	// browser sends the cookie, the server refuses. The right token, as a control, passes.
	echo := func(what string, headers map[string]string) fetchResult {
		t.Helper()
		return b.fetch(t, what, "POST", "/api/echo", headers, `{"from":"page"}`)
	}
	if r := echo("without X-CSRF-Token", map[string]string{"Content-Type": "application/json"}); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "csrf_failed") {
		t.Fatalf("POST /api/echo without X-CSRF-Token from the page: %d %s; want 403 csrf_failed", r.Status, r.Body)
	}
	if r := echo("with a wrong X-CSRF-Token", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": "not-the-token"}); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "csrf_failed") {
		t.Fatalf("POST /api/echo with a wrong X-CSRF-Token from the page: %d %s; want 403 csrf_failed", r.Status, r.Body)
	}
	if r := echo("with the session's X-CSRF-Token", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf}); r.Status != http.StatusOK || !strings.Contains(r.Body, `"from":"page"`) {
		t.Fatalf("POST /api/echo with the session's X-CSRF-Token from the page: %d %s; want 200 and the body", r.Status, r.Body)
	}

	// Logout: the form comes back, the server forgets the session, the cookie is gone.
	b.step(t, "click #logout-button", chromedp.Click(chromedp.ID("logout-button")))
	b.step(t, "the login form is shown again and #app hidden",
		chromedp.WaitVisible(chromedp.ID("login-button")),
		chromedp.WaitNotVisible(chromedp.ID("app")),
	)
	b.waitJS(t, `#status says "Signed out."`, `document.getElementById("status").textContent === "Signed out."`)
	if r := b.fetch(t, "after logout", "GET", "/api/me", nil, ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /api/me from the page after logout: %d %s; want 401", r.Status, r.Body)
	}
	if r := echo("after logout, with the old X-CSRF-Token", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf}); r.Status != http.StatusUnauthorized {
		t.Fatalf("POST /api/echo with the old CSRF token after logout: %d %s; want 401", r.Status, r.Body)
	}
	if c := b.sessionCookie(t, app.base); c != nil {
		t.Fatalf("the browser still holds a session cookie after logout (expires %v)", c.Expires)
	}
	b.step(t, "reload after logout", chromedp.Reload())
	b.waitJS(t, "still signed out after a reload", `document.getElementById("app").classList.contains("hidden") && !document.getElementById("login").classList.contains("hidden") && document.getElementById("whoami").textContent === ""`)
	shots.take(t, b, "03-signed-out.png")

	// No secret the browser handled reached the app's logs.
	logs := app.logs.String()
	for name, secret := range map[string]string{"password": password, "session id": cookie.Value, "CSRF token": csrf} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the app's logs contain the %s", name)
		}
	}
}

// findChromium returns the browser to run, or skips (fails under
// AUTHFRAME_REQUIRE_INTEGRATION=1) when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AUTHFRAME_TEST_CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("AUTHFRAME_TEST_CHROMIUM=%q: %v", p, err)
		}
		return found
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "no Chromium found at /usr/bin/chromium or on PATH: " + installHint
	if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + " (AUTHFRAME_REQUIRE_INTEGRATION=1 forbids skipping)")
	}
	t.Skip(msg + "; set AUTHFRAME_REQUIRE_INTEGRATION=1 to make this a failure")
	return ""
}

// examplesDir is the examples module root (this package's parent).
func examplesDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// syncBuffer collects output from several goroutines.
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

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// appProcess is the net/http example running as a process.
type appProcess struct {
	base string
	logs *syncBuffer
}

// startApp builds examples/nethttp, starts it on a free port in insecure-cookie mode and
// waits until /healthz answers. The process is stopped when the test ends.
func startApp(t *testing.T, ctx context.Context) *appProcess {
	t.Helper()
	start := time.Now()
	bin := filepath.Join(t.TempDir(), "nethttp")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./nethttp")
	build.Dir = examplesDir()
	build.WaitDelay = time.Second
	if out, err := build.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%v: not done within the test budget of %v", err, testBudget)
		}
		t.Fatalf("go build ./nethttp: %v\n%s", err, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	p := &appProcess{base: "http://" + addr, logs: &syncBuffer{}}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ADDR="+addr, "AUTHFRAME_INSECURE_COOKIES=1")
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("app logs:\n%s", tail(p.logs.String(), 8000))
		}
	})

	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/healthz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("built and started examples/nethttp at %s (%v)", p.base, time.Since(start).Round(time.Millisecond))
				return p
			}
		}
		select {
		case <-exited:
			t.Fatalf("the app exited at start:\n%s", p.logs)
		case <-ctx.Done():
			t.Fatalf("the app did not answer /healthz in time:\n%s", p.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// register creates the user through POST /auth/register.
func (p *appProcess) register(t *testing.T, ctx context.Context, username, password string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/auth/register", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: stepTimeout}).Do(req)
	if err != nil {
		t.Fatalf("POST /auth/register: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /auth/register: %d %s", resp.StatusCode, b)
	}
}

// browser is one headless Chromium with one tab.
type browser struct {
	ctx     context.Context // the tab; bounded by the test budget
	console *syncBuffer     // console messages and uncaught exceptions of the page
	output  *syncBuffer     // the browser process's stdout and stderr
}

// startBrowser starts Chromium with a fresh profile in t.TempDir(). It is closed, and
// every process that used the profile is gone, before the profile directory is removed.
func startBrowser(t *testing.T, ctx context.Context, execPath string) *browser {
	t.Helper()
	start := time.Now()
	profile := t.TempDir()
	t.Cleanup(func() { killProfileProcesses(profile) })

	b := &browser{console: &syncBuffer{}, output: &syncBuffer{}}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(b.output),
	)
	t.Cleanup(cancelAlloc) // waits until the allocator has freed everything

	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	t.Cleanup(func() {
		// Close the browser gracefully, within stopTimeout; then cancelTab kills what
		// is left and waits for the process to exit.
		cctx, cancel := context.WithTimeout(tabCtx, stopTimeout)
		_ = chromedp.Cancel(cctx)
		cancel()
		cancelTab()
	})
	// The first Run starts the browser; it lives as long as tabCtx (at most the budget).
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("start %s: %v\n%s", execPath, err, tail(b.output.String(), 4000))
	}
	b.ctx = tabCtx
	t.Logf("started %s (%v)", execPath, time.Since(start).Round(time.Millisecond))

	// On failure, leave a picture and the page's state (runs before the browser closes).
	t.Cleanup(func() {
		if !t.Failed() || tabCtx.Err() != nil {
			return
		}
		t.Logf("page state: %s", b.state())
		t.Logf("page console:\n%s", tail(b.console.String(), 4000))
		t.Logf("browser output:\n%s", tail(b.output.String(), 4000))
		sctx, cancel := context.WithTimeout(tabCtx, 3*time.Second)
		defer cancel()
		if data, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
			p := filepath.Join(t.TempDir(), "failure.png")
			if os.WriteFile(p, data, 0o644) == nil {
				t.Logf("failure screenshot: %s", p)
				keepScreenshot(t, p)
			}
		}
	})
	return b
}

// listen records the page's console and uncaught exceptions. It runs in chromedp's
// read loop, so it only appends to a buffer.
func (b *browser) listen(ev any) {
	switch e := ev.(type) {
	case *cdpruntime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		fmt.Fprintf(b.console, "console.%s: %s\n", e.Type, strings.Join(parts, " "))
	case *cdpruntime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		fmt.Fprintf(b.console, "uncaught exception at %s:%d: %s\n", d.URL, d.LineNumber+1, msg)
	}
}

// step runs browser actions within stepTimeout and fails the test on an error.
func (b *browser) step(t *testing.T, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	start := time.Now()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage state: %s", name, err, b.state())
	}
	t.Logf("%s (%v)", name, time.Since(start).Round(time.Millisecond))
}

// waitJS evaluates the boolean expression in the page until it is true, within
// stepTimeout. It is a Go-side loop of Runtime.evaluate, which the page's CSP (no
// 'unsafe-eval') does not block, and which survives a reload.
func (b *browser) waitJS(t *testing.T, name, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	start := time.Now()
	var lastErr error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			t.Logf("%s (%v)", name, time.Since(start).Round(time.Millisecond))
			return
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not true within %v (last evaluation error: %v)\npage state: %s", name, stepTimeout, lastErr, b.state())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// eval evaluates a JavaScript expression that gives a string.
func (b *browser) eval(t *testing.T, name, expr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// fetchResult is the answer to a fetch made from within the page.
type fetchResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// fetch calls the app from within the page (same origin, with the browser's cookies)
// and awaits the answer.
func (b *browser) fetch(t *testing.T, what, method, path string, headers map[string]string, body string) fetchResult {
	t.Helper()
	if headers == nil {
		headers = map[string]string{}
	}
	h, _ := json.Marshal(headers)
	jsBody := "null"
	if body != "" {
		jsBody = jsString(body)
	}
	expr := fmt.Sprintf(`(async () => {
		const r = await fetch(%s, {method: %s, credentials: "same-origin", headers: %s, body: %s});
		return {status: r.status, body: await r.text()};
	})()`, jsString(path), jsString(method), h, jsBody)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[fetchResult](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s %s from the page: %v", method, path, err)
	}
	t.Logf("fetch %s %s from the page, %s: %d %s", method, path, what, r.Status, tail(strings.TrimSpace(r.Body), 120))
	return r
}

// sessionCookie is the browser's "session" cookie for base, or nil.
func (b *browser) sessionCookie(t *testing.T, base string) *network.Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		r, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
		return r.Cookies, err
	})
	if err != nil {
		t.Fatalf("Network.getCookies: %v", err)
	}
	for _, c := range cookies {
		if c.Name == "session" {
			return c
		}
	}
	return nil
}

// state describes the page for failure messages.
func (b *browser) state() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		url: location.href,
		status: document.getElementById("status")?.textContent,
		whoami: document.getElementById("whoami")?.textContent,
		echo: document.getElementById("echo-result")?.textContent,
		appHidden: document.getElementById("app")?.classList.contains("hidden"),
		loginHidden: document.getElementById("login")?.classList.contains("hidden"),
	})`))
	if err != nil {
		return fmt.Sprintf("(unavailable: %v)", err)
	}
	return s
}

// shots writes full-page screenshots into the test's temporary directory.
type shots struct{ dir string }

func newShots(t *testing.T) *shots { return &shots{dir: t.TempDir()} }

// take saves a full-page PNG screenshot, checks that it decodes and is not blank, and
// logs its path.
func (s *shots) take(t *testing.T, b *browser, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	data, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 = PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	bounds := img.Bounds()
	if bounds.Dx() < 100 || bounds.Dy() < 100 {
		t.Fatalf("screenshot %s is %dx%d", name, bounds.Dx(), bounds.Dy())
	}
	first, blank := img.At(bounds.Min.X, bounds.Min.Y), true
	for y := bounds.Min.Y; y < bounds.Max.Y && blank; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			if img.At(x, y) != first {
				blank = false
				break
			}
		}
	}
	if blank {
		t.Fatalf("screenshot %s is a single colour: the page did not render", name)
	}
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%dx%d, %d bytes)", p, bounds.Dx(), bounds.Dy(), len(data))
	keepScreenshot(t, p)
}

// keepScreenshot copies a screenshot into AUTHFRAME_TEST_SCREENSHOT_DIR when it is set,
// since the test's temporary directory is removed when the test ends.
func keepScreenshot(t *testing.T, path string) {
	t.Helper()
	dir := os.Getenv("AUTHFRAME_TEST_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	dst := filepath.Join(dir, filepath.Base(path))
	if err == nil {
		err = os.WriteFile(dst, data, 0o644)
	}
	if err != nil {
		t.Errorf("AUTHFRAME_TEST_SCREENSHOT_DIR: %v", err)
		return
	}
	t.Logf("kept a copy: %s", dst)
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// killProfileProcesses kills every process that still runs with this profile directory
// (helpers of Chromium that outlived it), so that the directory can be removed. Only
// processes of the browser this test started carry its fresh, unique directory.
func killProfileProcesses(profile string) {
	want := []byte("--user-data-dir=" + profile)
	for range 50 {
		entries, err := os.ReadDir("/proc")
		if err != nil {
			return // not Linux
		}
		found := 0
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil {
				continue
			}
			for _, arg := range bytes.Split(cmdline, []byte{0}) {
				if bytes.Equal(arg, want) {
					if p, err := os.FindProcess(pid); err == nil {
						_ = p.Kill()
					}
					found++
					break
				}
			}
		}
		if found == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
