package endpoint

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/apikey"
	"github.com/authframe/authframe/core/oauth"
)

// decodeJSON reads a JSON object body into dst, refusing another media type, trailing data
// and fields of the wrong type with a 400 that names the field.
func decodeJSON(in Input, dst any) error {
	if in.Request != nil {
		ct := in.Request.Header("Content-Type")
		if ct != "" {
			if err := jsonMediaType(ct); err != nil {
				return err
			}
		}
	}
	if len(bytes.TrimSpace(in.Body)) == 0 {
		return BadRequest("a JSON body is required")
	}
	d := json.NewDecoder(bytes.NewReader(in.Body))
	if err := d.Decode(dst); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
			return BadRequest(te.Field + " has the wrong type")
		}
		return BadRequest("malformed JSON body")
	}
	if d.More() {
		return BadRequest("malformed JSON body")
	}
	return nil
}

func jsonMediaType(ct string) error {
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		return nil
	}
	return &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusUnsupportedMediaType, Message: "send application/json"}
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// optTime is a time as RFC 3339, or JSON null for the zero time.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := rfc3339(t)
	return &s
}

type clientView struct {
	ClientID  string   `json:"client_id"`
	Secret    string   `json:"client_secret,omitempty"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	CreatedAt string   `json:"created_at"`
}

// CreateClient is POST /clients, for administrators (put a role requirement in front):
// {"name","scopes"} → 201 {"client_id","client_secret","name","scopes","created_at"}. The
// secret is in this answer only.
func (h *Handlers) CreateClient(in Input) Output {
	var body struct {
		Name   *string  `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := decodeJSON(in, &body); err != nil {
		return fail(err)
	}
	if body.Name == nil {
		return fail(BadRequest("name is required"))
	}
	c, secret, err := oauth.CreateClient(in.Ctx, h.guard, *body.Name, body.Scopes)
	if err != nil {
		return fail(err)
	}
	return jsonOutput(http.StatusCreated, clientView{ClientID: c.ID, Secret: secret, Name: c.Name, Scopes: NonNil(c.Scopes), CreatedAt: rfc3339(c.CreatedAt)})
}

// Clients is GET /clients, for administrators: {"clients":[...]}, never a secret.
func (h *Handlers) Clients(in Input) Output {
	cs, err := oauth.ListClients(in.Ctx, h.guard)
	if err != nil {
		return fail(err)
	}
	out := make([]clientView, 0, len(cs))
	for _, c := range cs {
		out = append(out, clientView{ClientID: c.ID, Name: c.Name, Scopes: NonNil(c.Scopes), CreatedAt: rfc3339(c.CreatedAt)})
	}
	return jsonOutput(http.StatusOK, map[string]any{"clients": out})
}

// DeleteClient is DELETE /clients/{id}, for administrators: 204, and every token issued to
// the client stops working on every instance; 404 for an unknown id.
func (h *Handlers) DeleteClient(in Input) Output {
	if err := oauth.DeleteClient(in.Ctx, h.guard, in.ID); err != nil {
		return fail(err)
	}
	return Output{Status: http.StatusNoContent, CacheControl: noStore}
}

type keyView struct {
	ID          string   `json:"id"`
	Key         string   `json:"key,omitempty"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
	CreatedAt   string   `json:"created_at"`
	ExpiresAt   *string  `json:"expires_at"`
}

// maxKeyLifetime bounds expires_in (ten years), so that no arithmetic overflows.
const maxKeyLifetime = 10 * 365 * 24 * time.Hour

// CreateKey is POST /keys: {"name","permissions","expires_in"} (seconds, optional) → 201
// {"id","key","name","permissions","created_at","expires_at"}, for a user logged in with a
// token or a session; the key is in this answer only.
func (h *Handlers) CreateKey(in Input) Output {
	var body struct {
		Name        *string          `json:"name"`
		Permissions []string         `json:"permissions"`
		ExpiresIn   *json.RawMessage `json:"expires_in"`
	}
	if err := decodeJSON(in, &body); err != nil {
		return fail(err)
	}
	if body.Name == nil {
		return fail(BadRequest("name is required"))
	}
	var ttl time.Duration
	if body.ExpiresIn != nil && string(*body.ExpiresIn) != "null" {
		var secs int64
		// Compare in seconds: secs*time.Second would overflow for large values (2^62 s
		// wraps to 0, a key that never expires).
		if err := json.Unmarshal(*body.ExpiresIn, &secs); err != nil || secs <= 0 || secs > int64(maxKeyLifetime/time.Second) {
			return fail(BadRequest("expires_in must be a positive number of seconds, at most ten years"))
		}
		ttl = time.Duration(secs) * time.Second
	}
	k, key, err := apikey.Create(in.Ctx, h.guard, in.Principal, *body.Name, body.Permissions, ttl)
	if err != nil {
		return fail(err)
	}
	return jsonOutput(http.StatusCreated, keyView{ID: k.ID, Key: key, Name: k.Name, Permissions: NonNil(k.Permissions),
		CreatedAt: rfc3339(k.CreatedAt), ExpiresAt: optTime(k.ExpiresAt)})
}

// Keys is GET /keys: the caller's own live keys, never a key itself.
func (h *Handlers) Keys(in Input) Output {
	ks, err := apikey.List(in.Ctx, h.guard, in.Principal)
	if err != nil {
		return fail(err)
	}
	type listed struct {
		keyView
		LastUsedAt *string `json:"last_used_at"`
	}
	out := make([]listed, 0, len(ks))
	for _, k := range ks {
		out = append(out, listed{keyView: keyView{ID: k.ID, Name: k.Name, Permissions: NonNil(k.Permissions), CreatedAt: rfc3339(k.CreatedAt),
			ExpiresAt: optTime(k.ExpiresAt)}, LastUsedAt: optTime(k.LastUsedAt)})
	}
	return jsonOutput(http.StatusOK, map[string]any{"keys": out})
}

// DeleteKey is DELETE /keys/{id}: 204, and the key stops working on every instance; 404
// for an unknown id or another user's key.
func (h *Handlers) DeleteKey(in Input) Output {
	if err := apikey.Revoke(in.Ctx, h.guard, in.Principal, in.ID); err != nil {
		return fail(err)
	}
	return Output{Status: http.StatusNoContent, CacheControl: noStore}
}
