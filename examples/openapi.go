// Package examples holds what the example apps share beyond their code: the OpenAPI 3.1
// description of their HTTP contract, embedded from openapi.yaml beside this file so that
// the documented path (examples/openapi.yaml) is the very file every app serves at
// GET /openapi.yaml and the contract test validates against.
package examples

import _ "embed"

// OpenAPI is examples/openapi.yaml: the OpenAPI 3.1 description of the contract that
// examples/nethttp, gin, echo and fiber serve (examples/README.md).
//
//go:embed openapi.yaml
var OpenAPI []byte
