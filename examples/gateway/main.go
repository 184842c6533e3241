// Command gateway is an API gateway in front of services that know nothing of authframe
// (see README.md beside this file). It serves /healthz and /metrics itself; every other
// request is authenticated with the apps' Guard through authhttp, checked against the
// configured path rules and forwarded by httputil.ReverseProxy to AUTHFRAME_UPSTREAM,
// with the caller's identity in X-User-* headers and the answer streamed back.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/examples/internal/app"
)

func main() {
	app.RunWith("gateway", app.LoadGatewayConfig, func(a *app.App) error { return a.Serve(Handler(a)) })
}

// The deadlines of a forwarded request, beyond the server's own (app.Timeouts), so that an
// upstream that cannot be reached is a 502 and never a hang.
const (
	// DialTimeout bounds connecting to the upstream (and its TLS handshake).
	DialTimeout = 5 * time.Second
	// ResponseHeaderTimeout bounds the wait for the upstream's answer to begin. It is
	// shorter than app.WriteTimeout, so that the 502 still reaches the client.
	ResponseHeaderTimeout = 20 * time.Second
)

// The headers the gateway sets on every forwarded request, and removes from every incoming
// one: the services behind it believe them.
const (
	headerUserID      = "X-User-Id"
	headerUserName    = "X-User-Name"
	headerRoles       = "X-User-Roles"
	headerPermissions = "X-User-Permissions"
	headerAuthMethod  = "X-Auth-Method"
	headerRequestID   = "X-Request-Id"
)

var identityHeaders = [...]string{headerUserID, headerUserName, headerRoles, headerPermissions, headerAuthMethod, headerRequestID}

// upstreamTimeouts are DialTimeout and ResponseHeaderTimeout; tests shorten them.
type upstreamTimeouts struct{ dial, header time.Duration }

// Handler is the gateway, for a.Config.Gateway.
func Handler(a *app.App) http.Handler {
	return newGateway(a, upstreamTimeouts{dial: DialTimeout, header: ResponseHeaderTimeout})
}

type gateway struct {
	app           *app.App
	cfg           app.GatewayConfig
	sessionCookie string
	proxy         *httputil.ReverseProxy
}

func newGateway(a *app.App, t upstreamTimeouts) *gateway {
	gw := &gateway{app: a, cfg: a.Config.Gateway, sessionCookie: a.Guard.ClearSessionCookie().Name}
	gw.proxy = &httputil.ReverseProxy{
		Rewrite:        gw.rewrite,
		Transport:      newTransport(t),
		ModifyResponse: dropUpstreamRequestID,
		ErrorHandler:   gw.upstreamFailed,
		ErrorLog:       slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
	}
	return gw
}

// newTransport is the connection pool to the upstream.
func newTransport(t upstreamTimeouts) *http.Transport {
	return &http.Transport{
		// No Proxy: the upstream is a service beside the gateway, never to be reached
		// through whatever HTTP_PROXY the environment names.
		DialContext:         (&net.Dialer{Timeout: t.dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: t.dial,
		ForceAttemptHTTP2:   true,
		// Every request goes to one host: keep idle as many connections to it as a busy
		// gateway has in flight. DefaultTransport keeps 2, and beyond that opens and
		// closes a connection per request.
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: t.header,
		ExpectContinueTimeout: time.Second,
		// The client's Accept-Encoding goes through as it is: the gateway neither asks the
		// upstream for gzip of its own accord nor inflates the answer.
		DisableCompression: true,
	}
}

var errNotAPath = endpoint.BadRequest("the request target must be an absolute path")

// ServeHTTP answers the gateway's own routes and the requests it refuses, and forwards the
// rest.
func (gw *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The id is always the gateway's own, whatever X-Request-ID the client sent: it is
	// the one the upstream and the gateway log the request under.
	id := endpoint.RequestID("")
	w.Header()[headerRequestID] = []string{id}
	r = r.WithContext(endpoint.ContextWithRequestID(r.Context(), id))
	switch {
	case r.Method == http.MethodConnect:
		// A gateway, not a forward proxy: it opens no tunnels.
		authhttp.WriteError(w, r, app.MethodNotAllowed)
		return
	case !strings.HasPrefix(r.URL.Path, "/"):
		authhttp.WriteError(w, r, errNotAPath)
		return
	}
	path := app.CleanPath(r.URL.Path)
	if path == "/healthz" || path == "/metrics" {
		gw.serveOwn(w, r, path)
		return
	}
	public, requirement := gw.cfg.Access(path)
	if public {
		gw.forward(w, r)
		return
	}
	p, err := gw.authenticate(r)
	if err == nil && requirement != "" {
		err = authframe.Authorize(p, requirement)
	}
	if err != nil {
		authhttp.WriteError(w, r, err)
		return
	}
	gw.forward(w, authframe.RequestWithPrincipal(r, p))
}

// forward hands r to the proxy. An upstream may answer before it has read the whole body
// (a stream, an early refusal), and by default the HTTP/1 server first swallows the rest
// of the body, which the proxy is still sending upstream, before it writes the answer:
// full duplex lets both flow at once.
func (gw *gateway) forward(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		_ = http.NewResponseController(w).EnableFullDuplex()
		// Whatever the upstream left unread is drained here, while the handler runs,
		// not by the server after it (golang/go#68560).
		defer r.Body.Close()
	}
	gw.proxy.ServeHTTP(w, r)
}

// authenticate is the gateway's one credential check, shared by every protected path.
// Only headers are credentials here: the Guard is shown the request without its cookies,
// because a browser attaches cookies to any request a page makes it send, and the services
// behind the gateway have no CSRF defence of their own. The credential is a user's bearer
// token, a service client's token or an API key (X-API-Key, or a bearer token with the key
// prefix): the Guard tells them apart, and rewrite forwards each one's auth method. The
// Guard's work is bounded as the apps bound a request, so that a dead
// store is a 503 in time; the forwarded request is not bounded by it.
func (gw *gateway) authenticate(r *http.Request) (*authframe.Principal, error) {
	ctx, cancel := context.WithTimeout(r.Context(), app.RequestTimeout)
	defer cancel()
	return gw.app.Guard.Authenticate(ctx, headersOnly{authhttp.Request(r)})
}

// headersOnly is a request whose cookies the Guard cannot see.
type headersOnly struct{ authframe.Request }

func (headersOnly) Cookie(string) string { return "" }

// rewrite makes the upstream request: the cleaned path (the upstream sees the path that
// was authorized, not one it might resolve differently) under the upstream URL, the
// client's headers without credentials and without any identity header the client wrote,
// then the gateway's own headers.
func (gw *gateway) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	if p := app.CleanPath(in.URL.Path); p != in.URL.Path {
		out.URL.Path, out.URL.RawPath = p, ""
	}
	pr.SetURL(gw.cfg.Upstream)

	// A map made at its final size: filled one header at a time, the proxy's copy would
	// outgrow its first buckets and be rehashed on most requests.
	h := make(http.Header, len(out.Header)+len(identityHeaders)+3)
	for name, v := range out.Header {
		switch {
		// A DPoP proof names this gateway's URL and is spent here: it is a credential too.
		case name == "Authorization", name == "X-Api-Key", name == "Dpop", isIdentityHeader(name):
		case name == "Cookie":
			if kept := withoutCookie(v, gw.sessionCookie); len(kept) > 0 {
				h[name] = kept
			}
		default:
			h[name] = v
		}
	}
	out.Header = h

	// Every value the gateway sets is a one-value slice of this one array.
	vals := make([]string, 0, len(identityHeaders)+3)
	set := func(name, value string) {
		vals = append(vals, value)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	// What SetXForwarded sets, the client's own forwarding headers having been dropped by
	// the proxy.
	if ip, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		set("X-Forwarded-For", ip)
	}
	set("X-Forwarded-Host", in.Host)
	if in.TLS != nil {
		set("X-Forwarded-Proto", "https")
	} else {
		set("X-Forwarded-Proto", "http")
	}
	set(headerRequestID, endpoint.RequestIDFromContext(in.Context()))
	if p, ok := authframe.PrincipalFromContext(in.Context()); ok {
		set(headerUserID, p.UserID)
		set(headerUserName, p.Username)
		set(headerRoles, strings.Join(p.Roles, ","))
		set(headerPermissions, strings.Join(p.Permissions, ","))
		set(headerAuthMethod, string(p.Method))
	}
}

// isIdentityHeader reports whether name is one of identityHeaders, ignoring letter case
// and reading "_" as "-": servers that follow CGI (PHP, WSGI, Rack and their kin) fold
// both X-User-ID and X_User_ID into HTTP_X_USER_ID, so a client's X_User_ID would reach
// such a service as the gateway's header.
func isIdentityHeader(name string) bool {
	for _, want := range identityHeaders {
		if sameFieldName(name, want) {
			return true
		}
	}
	return false
}

func sameFieldName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := fold(a[i]), fold(b[i])
		if x != y {
			return false
		}
	}
	return true
}

func fold(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	}
	return c
}

// withoutCookie returns the Cookie lines without the cookie called name, dropping the
// lines left empty. Lines that do not mention name are kept as they are.
func withoutCookie(lines []string, name string) []string {
	out := lines[:0:0]
	for _, line := range lines {
		if !strings.Contains(line, name) {
			out = append(out, line)
			continue
		}
		var kept []string
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if n, _, _ := strings.Cut(part, "="); part == "" || strings.TrimSpace(n) == name {
				continue
			}
			kept = append(kept, part)
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, "; "))
		}
	}
	return out
}

// dropUpstreamRequestID keeps the answer's X-Request-ID the gateway's own, which it has
// already set, instead of adding the upstream's as a second value.
func dropUpstreamRequestID(res *http.Response) error {
	res.Header.Del(headerRequestID)
	return nil
}

// upstreamFailed answers a request the upstream did not answer (refused, unreachable,
// timed out) with the contract's 502.
func (gw *gateway) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		gw.app.Logger.Warn("upstream did not answer", "request_id", authhttp.RequestIDFrom(r), "error", audit.Scrub(err.Error()))
	}
	authhttp.WriteError(w, r, &authframe.Error{Code: authframe.ErrBadGateway, Err: err})
}

// serveOwn serves the gateway's own routes, which are never forwarded.
func (gw *gateway) serveOwn(w http.ResponseWriter, r *http.Request, path string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		authhttp.WriteError(w, r, app.MethodNotAllowed)
		return
	}
	if path == "/metrics" {
		gw.app.Metrics.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), app.RequestTimeout)
	defer cancel()
	rep := gw.app.Guard.Health(ctx)
	status, body := http.StatusOK, map[string]any{"status": "ok", "dependencies": rep.Dependencies}
	if !rep.OK {
		status, body["status"] = http.StatusServiceUnavailable, "unavailable"
	}
	// The values are strings, booleans and the report's plain fields: Marshal cannot fail.
	b, _ := json.Marshal(body)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
