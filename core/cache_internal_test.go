package authframe

import (
	"strings"
	"testing"
	"unsafe"
)

// Tokens that share their tail share the index of the LRU; an entry must still answer only
// the token it was made for.
func TestLRUEntriesAnswerOnlyTheirOwnToken(t *testing.T) {
	tail := strings.Repeat("S", shardBytes)
	a, b := "header.payload-of-alice."+tail, "header.payload-of-bob.."+tail
	c := newLRUCache(16)
	if c.hash(a) != c.hash(b) {
		t.Fatal("the test needs two tokens with the same index")
	}
	pa, pb := &Principal{UserID: "alice"}, &Principal{UserID: "bob"}

	c.add(a, &cacheEntry{p: pa})
	if _, ok := c.get(b); ok {
		t.Fatal("bob's token hit alice's entry")
	}
	if e, ok := c.get(a); !ok || e.p != pa {
		t.Fatal("alice's token missed its own entry")
	}

	c.remove(b) // not bob's entry: alice's stays
	if _, ok := c.get(a); !ok {
		t.Fatal("removing bob's token dropped alice's entry")
	}

	c.add(b, &cacheEntry{p: pb}) // takes the slot over
	if _, ok := c.get(a); ok {
		t.Fatal("alice's token hit bob's entry")
	}
	if e, ok := c.get(b); !ok || e.p != pb {
		t.Fatal("bob's token missed its own entry")
	}
	if c.len() != 1 {
		t.Fatalf("%d entries, want 1", c.len())
	}
	c.remove(b)
	if _, ok := c.get(b); ok || c.len() != 0 {
		t.Fatal("remove left bob's entry")
	}
}

// The entry keeps its own copy of the token: the caller's string may be a view of a
// request buffer (fasthttp) that the next request overwrites.
func TestLRUEntriesOwnTheirToken(t *testing.T) {
	orig := "header.payload." + strings.Repeat("S", 40)
	buf := []byte(orig)
	view := unsafe.String(&buf[0], len(buf))
	c := newLRUCache(16)
	c.add(view, &cacheEntry{p: &Principal{UserID: "u"}})
	for i := range buf {
		buf[i] = 'X'
	}
	if e, ok := c.get(orig); !ok || e.tok != orig {
		t.Fatal("the entry changed with the caller's buffer")
	}
}

// A full shard replacing an entry of the same index does not go through admission.
func TestLRUFullShardReplacesInPlace(t *testing.T) {
	c := newLRUCache(1)
	tail := strings.Repeat("T", shardBytes)
	c.add("first."+tail, &cacheEntry{p: &Principal{UserID: "1"}})
	c.add("second."+tail, &cacheEntry{p: &Principal{UserID: "2"}})
	if e, ok := c.get("second." + tail); !ok || e.p.UserID != "2" {
		t.Fatal("the replacement was not admitted at once")
	}
}
