package authframe

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// reservedClaims are the claims the Guard writes or reads itself: custom claims may not
// use these names.
var reservedClaims = []string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "roles", "preferred_username",
	"scope", "scp", "permissions", "client_id", "cnf", "amr", "auth_time", "acr", "azp",
	"act", "may_act", "typ", "nonce",
}

// claimsHook is WithClaims's hook, with its type erased.
type claimsHook struct {
	typ    reflect.Type
	issue  func(ctx context.Context, u User) (any, error)
	decode func(payload []byte) (any, error)
}

// WithClaims adds claims of the app's own to every access token the Guard issues, and reads
// them back from every token it verifies. fn runs at each issue (login, refresh) with the
// user and the request's context; its value, a struct whose JSON fields become claims, is
// read at verify time with Claims[T]. New refuses a T whose JSON names shadow a claim the
// Guard sets or reads itself (sub, sid, roles, scope, cnf, ...). Cached principals carry the
// claims, so reading them costs no allocation.
//
//	type Tenant struct{ TenantID string `json:"tenant_id"` }
//	authframe.WithClaims(func(ctx context.Context, u authframe.User) (Tenant, error) {
//		return Tenant{TenantID: tenantOf(u.ID)}, nil
//	})
//	...
//	t, ok := authframe.Claims[Tenant](principal)
func WithClaims[T any](fn func(ctx context.Context, u User) (T, error)) Option {
	return optionFunc(func(c *config) {
		if fn == nil {
			optErr(c, "WithClaims", errors.New("nil function"))
			return
		}
		typ := reflect.TypeFor[T]()
		if err := checkClaimsType(typ); err != nil {
			optErr(c, "WithClaims", err)
			return
		}
		c.claims = &claimsHook{
			typ: typ,
			issue: func(ctx context.Context, u User) (any, error) {
				return fn(ctx, u)
			},
			decode: func(payload []byte) (any, error) {
				var v T
				if err := json.Unmarshal(payload, &v); err != nil {
					return nil, err
				}
				return v, nil
			},
		}
	})
}

// Claims returns the custom claims of p's token (see WithClaims): false when the Guard has
// no WithClaims of type T, or p did not come from a token.
func Claims[T any](p *Principal) (T, bool) {
	var zero T
	if p == nil || p.claims == nil {
		return zero, false
	}
	v, ok := p.claims.(T)
	return v, ok
}

// checkClaimsType accepts a struct (or pointer to one) none of whose JSON names is reserved.
func checkClaimsType(t reflect.Type) error {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("claims type %v is not a struct", t)
	}
	for _, name := range jsonNames(t) {
		for _, r := range reservedClaims {
			if strings.EqualFold(name, r) {
				return fmt.Errorf("claims type %v: field %q would shadow the %q claim", t, name, r)
			}
		}
	}
	return nil
}

// jsonNames lists the JSON object keys encoding/json gives t's fields, embedded structs
// included.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonNames(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// withCustom is an access token's claims with the app's own merged in.
type withCustom struct {
	accessClaims
	custom []byte // a JSON object, or nil
}

// MarshalJSON writes the Guard's claims, then the custom ones, as one object. New has
// checked that no name appears in both.
func (w withCustom) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(w.accessClaims)
	if err != nil || len(w.custom) < 2 {
		return base, err
	}
	extra := bytes.TrimSpace(w.custom)
	if len(extra) <= 2 || extra[0] != '{' {
		return base, nil
	}
	out := make([]byte, 0, len(base)+len(extra))
	out = append(out, base[:len(base)-1]...)
	out = append(out, ',')
	return append(out, extra[1:]...), nil
}

// customClaims runs the WithClaims hook for u.
func (g *Guard) customClaims(ctx context.Context, u User) ([]byte, error) {
	if g.cfg.claims == nil {
		return nil, nil
	}
	v, err := g.cfg.claims.issue(ctx, u)
	if err != nil {
		return nil, &Error{Code: ErrInternal, Err: fmt.Errorf("WithClaims: %w", err)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{Code: ErrInternal, Err: fmt.Errorf("WithClaims: %w", err)}
	}
	if bytes.Equal(b, []byte("null")) {
		return nil, nil
	}
	return b, nil
}

// decodeCustom reads the WithClaims type from a verified token's payload segment.
func (g *Guard) decodeCustom(tok string) any {
	first := strings.IndexByte(tok, '.')
	last := strings.LastIndexByte(tok, '.')
	if first < 0 || last <= first {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(tok[first+1 : last])
	if err != nil {
		return nil
	}
	v, err := g.cfg.claims.decode(payload)
	if err != nil {
		return nil
	}
	return v
}

var _ jwt.Claims = withCustom{}
