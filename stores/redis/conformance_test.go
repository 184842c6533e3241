package redisstore

import (
	"testing"

	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/storetest"
)

func TestConformance(t *testing.T) {
	c := testClient(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t, c) })
}

func TestConformanceOnCluster(t *testing.T) {
	c := testClusterClient(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t, c) })
}

func TestConformanceOnSentinel(t *testing.T) {
	c := testSentinelClient(t)
	storetest.Run(t, func(t *testing.T) store.Store { return newTestStore(t, c) })
}
