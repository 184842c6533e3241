// Package dpop implements the building blocks of sender-constrained tokens with DPoP
// (RFC 9449): the verification of proofs, their replay check through a shared
// store.ReplayStore, stateless server nonces (DPoP-Nonce), and a client side that signs
// proofs: a Prover, and an http.RoundTripper that adds a fresh proof to every request.
//
// A server builds one Verifier with its public URL (the origin clients call, never one
// read from a forwarded header) and checks each DPoP header against the request's method
// and path, and against the access token it accompanies:
//
//	v, err := dpop.NewVerifier("https://api.example.com")
//	proof, err := v.Verify(r.Header.Get("DPoP"), dpop.Request{Method: r.Method, Path: r.URL.EscapedPath(), AccessToken: tok})
//	err = v.Remember(ctx, replayStore, proof) // the jti once, across every instance
//	// then: the token's cnf.jkt must equal proof.JKT
//
// A Guard does all of this itself with WithProofs: it binds the tokens of token requests
// that carry a proof (TokenRequest, which the endpoint handlers call) and checks the proof
// of every request that presents a bound token, its jti through the Guard's store:
//
//	guard, err := authframe.New(key, iss, aud, authframe.WithPublicURL("https://api.example.com"), dpop.WithProofs())
//
// A client calls a DPoP-protected service in one line:
//
//	client, err := dpop.NewClient(key) // an Ed25519 or P-256 private key
//
// Verification takes only asymmetric algorithms (ES256, ES384, EdDSA, RS256, PS256 by
// default; never HS* nor none), a public jwk header (one with a private member is
// refused), strict base64url, and a bounded proof size. Errors never quote the proof.
package dpop
