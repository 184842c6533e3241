package redisstore

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/breaker"
)

// outcome classifies a call's error for the circuit breaker (core/breaker): a reply of
// any kind (redis.Nil included) proves Redis answered; a failure (isFailure) counts
// towards opening; anything else (the caller's cancellation) says nothing.
func outcome(err error) breaker.Outcome {
	switch {
	case isFailure(err):
		return breaker.Failure
	case err == nil || errors.Is(err, redis.Nil) || isServerReply(err):
		return breaker.Success
	}
	return breaker.Neutral
}

// isFailure says whether err means that Redis could not answer: a network error, a timeout,
// or a server that says it cannot serve (loading, cluster down, no master). A caller's
// cancellation is nobody's failure, and any other reply from the server (including
// redis.Nil) proves that it answered.
func isFailure(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	if isServerReply(err) {
		msg := err.Error()
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "BUSY "} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

func isServerReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}
