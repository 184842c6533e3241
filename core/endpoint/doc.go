// Package endpoint holds what every adapter shares: the contract's error rendering, the
// request-id and CSRF header names, and the framework-neutral route logic behind the
// adapters' ready-made handlers. An app rarely imports it directly: each adapter exposes
// the same things in its framework's shape.
package endpoint
