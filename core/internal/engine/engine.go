// Package engine lets authframe's own subpackages (oauth, apikey, keys, ...) reach what the
// root package keeps unexported, without widening the root package's API: the root package
// sets these function variables in its init, and each subpackage reaches the values they
// return through small interfaces of its own, satisfied by exported methods of unexported
// types of the root package. The idea is grpc-go's internal package.
package engine

// Of returns the internals of a *authframe.Guard: a value of an unexported type of the root
// package whose exported methods the subpackages call through interfaces of their own. It
// panics on anything but a non-nil *authframe.Guard.
var Of func(guard any) any

// Option returns an authframe.Option (as any) that calls apply with the root package's
// configuration under construction, whose exported methods the subpackages call through
// interfaces of their own.
var Option func(apply func(cfg any)) any
