package breaker_test

import (
	"sync"
	"testing"
	"time"

	"github.com/authframe/authframe/core/breaker"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	b := breaker.New(2, 50*time.Millisecond)
	steps := []struct {
		name      string
		do        func()
		wantAllow bool
		wantState string
	}{
		{"a fresh breaker is closed", func() {}, true, "closed"},
		{"one failure keeps it closed", func() { b.Record(breaker.Failure, false) }, true, "closed"},
		{"a success resets the count", func() { b.Record(breaker.Success, false); b.Record(breaker.Failure, false) }, true, "closed"},
		{"a neutral outcome neither counts nor resets", func() { b.Record(breaker.Neutral, false) }, true, "closed"},
		{"the threshold opens it", func() { b.Record(breaker.Failure, false) }, false, "open"},
		{"after the cooldown it is half-open", func() { time.Sleep(60 * time.Millisecond) }, true, "half-open"},
		{"a failed probe reopens it", func() { b.Record(breaker.Failure, true) }, false, "open"},
		{"a successful probe closes it", func() {
			time.Sleep(60 * time.Millisecond)
			if ok, probe := b.Allow(); !ok || !probe {
				t.Fatalf("Allow after the cooldown = %v, %v; want the probe", ok, probe)
			}
			if ok, _ := b.Allow(); ok {
				t.Fatal("a second call went through during the probe")
			}
			b.Record(breaker.Success, true)
		}, true, "closed"},
	}
	for _, st := range steps {
		st.do()
		if got := b.State(); got != st.wantState {
			t.Fatalf("%s: state = %q, want %q", st.name, got, st.wantState)
		}
		if st.wantState != "half-open" {
			if ok, probe := b.Allow(); ok != st.wantAllow {
				t.Fatalf("%s: Allow = %v, want %v", st.name, ok, st.wantAllow)
			} else if probe {
				b.Record(breaker.Neutral, true) // hand the probe back
			}
		}
	}
}

func TestANeutralProbeHandsTheProbeBack(t *testing.T) {
	b := breaker.New(1, 10*time.Millisecond)
	b.Record(breaker.Failure, false)
	time.Sleep(15 * time.Millisecond)
	_, probe := b.Allow()
	if !probe {
		t.Fatal("no probe after the cooldown")
	}
	b.Record(breaker.Neutral, true)
	if ok, probe := b.Allow(); !ok || !probe {
		t.Fatal("the probe was not handed back by a neutral outcome")
	}
}

func TestANilBreakerIsAlwaysClosed(t *testing.T) {
	var b *breaker.Breaker
	for range 10 {
		b.Record(breaker.Failure, false)
	}
	if ok, _ := b.Allow(); !ok || b.State() != "closed" {
		t.Fatal("a nil breaker refused a call")
	}
}

func TestOneProbeAtATime(t *testing.T) {
	b := breaker.New(1, time.Millisecond)
	b.Record(breaker.Failure, false)
	time.Sleep(5 * time.Millisecond)
	var wg sync.WaitGroup
	var mu sync.Mutex
	probes := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, probe := b.Allow(); ok && probe {
				mu.Lock()
				probes++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if probes != 1 {
		t.Fatalf("%d probes went through at once, want 1", probes)
	}
}
