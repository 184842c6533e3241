// Package browsertest drives the net/http example app (examples/nethttp) from a real
// headless Chromium with chromedp, to check the cookie session flow end to end as a
// browser sees it: the login form, the HttpOnly session cookie, a reload, a CSRF-protected
// call (with and without the X-CSRF-Token header) and the logout.
//
// The package has only a test. It builds the example, runs it as a process with
// AUTHFRAME_INSECURE_COOKIES=1 (plain http on 127.0.0.1, where a browser would not store
// a Secure __Host- cookie), and starts Chromium from AUTHFRAME_TEST_CHROMIUM, else
// /usr/bin/chromium, else "chromium" on PATH. Without a browser the test skips, unless
// AUTHFRAME_REQUIRE_INTEGRATION=1 (as in CI), which makes that a failure:
//
//	apt-get install -y chromium   # Debian and Ubuntu
//	cd examples && AUTHFRAME_REQUIRE_INTEGRATION=1 go test -race -count=1 -v ./browsertest/
//
// The test writes full-page PNG screenshots into its t.TempDir() and logs their paths.
// That directory is removed when the test ends; set AUTHFRAME_TEST_SCREENSHOT_DIR to a
// directory to keep a copy of them (for example as CI artifacts).
package browsertest
