package dpop

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// maxHTU bounds the URIs normalizeHTU reads.
const maxHTU = 4096

// normalizeHTU returns the form of an http(s) URI that RFC 9449 §4.3 compares: scheme and
// host in lower case, the scheme's default port dropped, the path with its percent-encodings
// normalised (RFC 3986 §6.2.2: unreserved characters decoded, hex digits in upper case) and
// its dot segments removed, an empty path as "/", and no query, fragment nor user info.
func normalizeHTU(s string) (string, error) {
	if len(s) > maxHTU {
		return "", errors.New("URI too long")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("not a URI")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", errors.New("not an http or https URI")
	}
	if u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", errors.New("not an absolute http URI with a host and no user info")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return "", errors.New("URI without a host")
	}
	if strings.HasSuffix(u.Host, ":") && port == "" {
		return "", errors.New("URI with an empty port")
	}
	for _, c := range []byte(port) {
		if c < '0' || c > '9' {
			return "", errors.New("URI with a non-numeric port")
		}
	}
	port = strings.TrimLeft(port, "0")
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	path, err := normalizePercent(u.EscapedPath())
	if err != nil {
		return "", err
	}
	path = removeDotSegments(path)
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, nil
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// normalizePercent decodes the percent-encodings of unreserved characters and writes the
// others with upper-case hex digits.
func normalizePercent(p string) (string, error) {
	if !strings.Contains(p, "%") {
		return p, nil
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(p) {
			return "", errors.New("URI with a truncated percent-encoding")
		}
		hi, ok1 := unhex(p[i+1])
		lo, ok2 := unhex(p[i+2])
		if !ok1 || !ok2 {
			return "", errors.New("URI with a bad percent-encoding")
		}
		if v := hi<<4 | lo; isUnreserved(v) {
			b.WriteByte(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[hi])
			b.WriteByte(hexDigits[lo])
		}
		i += 2
	}
	return b.String(), nil
}

// removeDotSegments is RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string
	segs := strings.Split(in, "/")
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	res := strings.Join(out, "/")
	if strings.HasPrefix(in, "/") && !strings.HasPrefix(res, "/") {
		res = "/" + res
	}
	return res
}
