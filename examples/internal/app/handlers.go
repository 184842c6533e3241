package app

import (
	"net/http"

	authframe "github.com/authframe/authframe/core"
)

// NotFound answers unknown routes in the contract's error shape.
var NotFound = &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusNotFound, Message: "no such route"}

// MethodNotAllowed answers known paths with the wrong method.
var MethodNotAllowed = &authframe.Error{Code: authframe.ErrInvalidRequest, Status: http.StatusMethodNotAllowed, Message: "method not allowed"}
