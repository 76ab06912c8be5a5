package store

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/regen-dev/regen"
)

// item returns an item that newMemory's stores charge size bytes.
func item(size int) *Item {
	return &Item{Status: 200, Body: make([]byte, size)}
}

// newMemory returns a Memory store that charges an item its body's length,
// so that tests of its accounting and eviction count in round numbers
// (TestItemCharge checks the real charge).
func newMemory(opts MemoryOptions) *Memory {
	m := NewMemory(opts)
	m.charge = func(_ string, it *Item, _ int64) int64 { return int64(len(it.Body)) }
	m.noRoom = true
	return m
}

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// same reports whether got, an item a store returned, holds what want, the
// item stored, held; both nil is the same.
func same(got, want *Item) bool {
	if got == nil || want == nil {
		return got == want
	}
	return cmp.Equal(got, want)
}

func TestNewMemoryOptions(t *testing.T) {
	tests := []struct {
		name       string
		opts       MemoryOptions
		wantShards int
		wantBudget int64
	}{
		{"zero value", MemoryOptions{}, 64, 256 << 20 / 64},
		{"negative", MemoryOptions{MaxBytes: -1, Shards: -1}, 64, 256 << 20 / 64},
		{"one shard", MemoryOptions{MaxBytes: 1000, Shards: 1}, 1, 1000},
		{"power of two", MemoryOptions{MaxBytes: 1 << 20, Shards: 16}, 16, 1 << 16},
		{"rounded up", MemoryOptions{MaxBytes: 1 << 20, Shards: 17}, 32, 1 << 15},
		{"capped", MemoryOptions{MaxBytes: 1 << 30, Shards: math.MaxInt}, 1 << 16, 1 << 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(tt.opts)
			if len(m.shards) != tt.wantShards || len(m.tagShards) != tt.wantShards {
				t.Errorf("NewMemory(%+v): %d item shards, %d tag shards; want %d", tt.opts, len(m.shards), len(m.tagShards), tt.wantShards)
			}
			if m.shardBytes != tt.wantBudget {
				t.Errorf("NewMemory(%+v): shard budget %d; want %d", tt.opts, m.shardBytes, tt.wantBudget)
			}
		})
	}
}

func TestMemoryGetSetDelete(t *testing.T) {
	a, b := item(100), item(300)
	type op struct {
		do   string // "set", "get" or "delete"
		key  string
		it   *Item // for set; the wanted item for get (nil: none)
		len  int   // Len after the op
		size int64 // Bytes after the op
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"get missing", []op{
			{do: "get", key: "/a"},
		}},
		{"set then get", []op{
			{do: "set", key: "/a", it: a, len: 1, size: 100},
			{do: "get", key: "/a", it: a, len: 1, size: 100},
			{do: "get", key: "/b", len: 1, size: 100},
		}},
		{"two keys", []op{
			{do: "set", key: "/a", it: a, len: 1, size: 100},
			{do: "set", key: "/b", it: b, len: 2, size: 400},
			{do: "get", key: "/a", it: a, len: 2, size: 400},
			{do: "get", key: "/b", it: b, len: 2, size: 400},
		}},
		{"replace", []op{
			{do: "set", key: "/a", it: a, len: 1, size: 100},
			{do: "set", key: "/a", it: b, len: 1, size: 300},
			{do: "get", key: "/a", it: b, len: 1, size: 300},
			{do: "set", key: "/a", it: a, len: 1, size: 100},
			{do: "get", key: "/a", it: a, len: 1, size: 100},
		}},
		{"delete", []op{
			{do: "set", key: "/a", it: a, len: 1, size: 100},
			{do: "set", key: "/b", it: b, len: 2, size: 400},
			{do: "delete", key: "/a", len: 1, size: 300},
			{do: "get", key: "/a", len: 1, size: 300},
			{do: "get", key: "/b", it: b, len: 1, size: 300},
			{do: "delete", key: "/a", len: 1, size: 300},
			{do: "delete", key: "/b", len: 0, size: 0},
		}},
		{"empty key", []op{
			{do: "set", key: "", it: a, len: 1, size: 100},
			{do: "get", key: "", it: a, len: 1, size: 100},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemory(MemoryOptions{MaxBytes: 1 << 20, Shards: 4})
			ctx := t.Context()
			for i, o := range tt.ops {
				switch o.do {
				case "set":
					if err := m.Set(ctx, o.key, o.it); err != nil {
						t.Fatalf("op %d: Set(%q) = %v", i, o.key, err)
					}
				case "get":
					got, ok, err := m.Get(ctx, o.key)
					if err != nil {
						t.Fatalf("op %d: Get(%q) error = %v", i, o.key, err)
					}
					if want := o.it != nil; ok != want || !same(got, o.it) {
						t.Errorf("op %d: Get(%q) = %p, %v; want %p, %v", i, o.key, got, ok, o.it, want)
					}
				case "delete":
					if err := m.Delete(ctx, o.key); err != nil {
						t.Fatalf("op %d: Delete(%q) = %v", i, o.key, err)
					}
				}
				if got := m.Len(); got != o.len {
					t.Errorf("op %d (%s %q): Len() = %d; want %d", i, o.do, o.key, got, o.len)
				}
				if got := m.Bytes(); got != o.size {
					t.Errorf("op %d (%s %q): Bytes() = %d; want %d", i, o.do, o.key, got, o.size)
				}
			}
			if got := m.Evictions(); got != 0 {
				t.Errorf("Evictions() = %d; want 0", got)
			}
		})
	}
}

func TestMemorySetNil(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	if err := m.Set(t.Context(), "/a", nil); err == nil {
		t.Errorf("Set(nil) = nil; want an error")
	}
	if m.Len() != 0 {
		t.Errorf("Len() = %d after Set(nil); want 0", m.Len())
	}
}

// keys returns the keys the store holds among candidates, in order.
func keys(t *testing.T, m *Memory, candidates ...string) []string {
	t.Helper()
	var got []string
	for _, k := range candidates {
		h := m.hash(k)
		if l, _, _ := m.shardOf(h).lookup(k, uint32(h>>32)); l != 0 { // does not mark k recently used
			got = append(got, k)
		}
	}
	return got
}

// listed is a record of a shard's LRU list.
type listed struct {
	key  string
	size int64
}

// entries returns the records of s's LRU list, least recently used first,
// after checking that the list, the table and the slabs agree.
func (s *memShard) entries(t *testing.T) []listed {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []listed
	var prev loc
	var liveN int64
	for l := s.lru; l != 0; {
		sl, h := s.rec(l)
		if h.older != prev || h.dead != 0 {
			t.Fatalf("LRU list broken at %q", sl.key(h))
		}
		list = append(list, listed{sl.key(h), int64(h.size)})
		liveN += int64(h.span)
		prev, l = l, h.newer
	}
	if prev != s.mru {
		t.Fatalf("LRU list ends at %x; the shard's most recent is %x", prev, s.mru)
	}
	tab := s.table.Load()
	inTable, used := 0, 0
	for i := range tab.slots {
		v := tab.slots[i].Load()
		if v == 0 {
			continue
		}
		used++
		if loc(v) == tombstone {
			continue
		}
		inTable++
		l := slotLoc(v)
		sl, h := s.rec(l)
		if !slotMay(v, h.hi) {
			t.Errorf("table slot %d holds %q with hash bits %x; its hash's are %x", i, sl.key(h), uint32(v)>>16, h.hi>>16)
		}
		if got, _, _ := s.lookup(sl.key(h), h.hi); got != l {
			t.Errorf("table slot %d holds %q, which a lookup does not find", i, sl.key(h))
		}
		if h.dead != 0 {
			t.Errorf("table slot %d holds %q, which is dead", i, sl.key(h))
		}
	}
	if inTable != len(list) || inTable != s.live || used != s.used {
		t.Errorf("table holds %d records in %d used slots, LRU list %d; live = %d, used = %d", inTable, used, len(list), s.live, s.used)
	}
	if used*4 > len(tab.slots)*3 {
		t.Errorf("table of %d slots has %d used; want at most 3/4", len(tab.slots), used)
	}
	var slabLive int64
	for _, sl := range s.dir.Load().slabs {
		if sl != nil {
			slabLive += sl.liveN
		}
	}
	if slabLive != liveN || s.liveN != liveN {
		t.Errorf("live records take %d bytes; slabs count %d, the shard %d", liveN, slabLive, s.liveN)
	}
	return list
}

func TestMemoryEviction(t *testing.T) {
	type set struct {
		key  string
		size int
	}
	tests := []struct {
		name          string
		sets          []set
		gets          []string // after all but the last set
		want          []string
		wantBytes     int64
		wantEvictions int64
	}{
		{
			name:      "fits exactly",
			sets:      []set{{"a", 200}, {"b", 200}, {"c", 200}, {"d", 200}, {"e", 200}},
			want:      []string{"a", "b", "c", "d", "e"},
			wantBytes: 1000,
		},
		{
			name:          "oldest goes first",
			sets:          []set{{"a", 200}, {"b", 200}, {"c", 200}, {"d", 200}, {"e", 200}, {"f", 200}},
			want:          []string{"b", "c", "d", "e", "f"},
			wantBytes:     1000,
			wantEvictions: 1,
		},
		{
			name:          "get marks recently used",
			sets:          []set{{"a", 200}, {"b", 200}, {"c", 200}, {"d", 200}, {"e", 200}, {"f", 200}},
			gets:          []string{"a", "c"},
			want:          []string{"a", "c", "d", "e", "f"},
			wantBytes:     1000,
			wantEvictions: 1,
		},
		{
			name:          "a big item evicts several",
			sets:          []set{{"a", 200}, {"b", 200}, {"c", 200}, {"d", 200}, {"e", 200}, {"f", 550}},
			want:          []string{"d", "e", "f"},
			wantBytes:     950,
			wantEvictions: 3,
		},
		{
			name:          "replacing counts the new size",
			sets:          []set{{"a", 200}, {"b", 200}, {"c", 200}, {"d", 200}, {"e", 200}, {"a", 400}},
			want:          []string{"a", "c", "d", "e"},
			wantBytes:     1000,
			wantEvictions: 1,
		},
		{
			name:      "replacing with a smaller item evicts nothing",
			sets:      []set{{"a", 400}, {"b", 200}, {"c", 400}, {"a", 100}},
			want:      []string{"a", "b", "c"},
			wantBytes: 700,
		},
		{
			name:          "an item of the whole budget evicts all others",
			sets:          []set{{"a", 200}, {"b", 200}, {"c", 1000}},
			want:          []string{"c"},
			wantBytes:     1000,
			wantEvictions: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One shard: the whole budget is one LRU list, so eviction order
			// is exact.
			m := newMemory(MemoryOptions{MaxBytes: 1000, Shards: 1})
			ctx := t.Context()
			var all []string
			for i, s := range tt.sets {
				if i == len(tt.sets)-1 {
					for _, k := range tt.gets {
						if _, ok, _ := m.Get(ctx, k); !ok {
							t.Fatalf("Get(%q) found nothing before the last Set", k)
						}
					}
				}
				if err := m.Set(ctx, s.key, item(s.size)); err != nil {
					t.Fatalf("Set(%q) = %v", s.key, err)
				}
				if !slices.Contains(all, s.key) {
					all = append(all, s.key)
				}
			}
			if diff := cmp.Diff(tt.want, keys(t, m, all...)); diff != "" {
				t.Errorf("keys held (-want +got):\n%s", diff)
			}
			if got := m.Len(); got != len(tt.want) {
				t.Errorf("Len() = %d; want %d", got, len(tt.want))
			}
			if got := m.Bytes(); got != tt.wantBytes {
				t.Errorf("Bytes() = %d; want %d", got, tt.wantBytes)
			}
			if got := m.Evictions(); got != tt.wantEvictions {
				t.Errorf("Evictions() = %d; want %d", got, tt.wantEvictions)
			}
		})
	}
}

func TestMemoryOversize(t *testing.T) {
	tests := []struct {
		name     string
		opts     MemoryOptions
		size     int
		previous bool // an item was already stored under the key
	}{
		{"over the budget", MemoryOptions{MaxBytes: 1000, Shards: 1}, 1001, false},
		{"over a shard's share", MemoryOptions{MaxBytes: 1000, Shards: 4}, 300, false},
		{"over a rounded shard's share", MemoryOptions{MaxBytes: 1000, Shards: 3}, 300, false},
		{"replacing a stored item", MemoryOptions{MaxBytes: 1000, Shards: 1}, 1001, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMemory(tt.opts)
			ctx := t.Context()
			other := item(100)
			if err := m.Set(ctx, "/other", other); err != nil {
				t.Fatal(err)
			}
			if tt.previous {
				if err := m.Set(ctx, "/big", item(100)); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Set(ctx, "/big", item(tt.size)); err != nil {
				t.Errorf("Set(oversize) = %v; want nil", err)
			}
			if got, ok, _ := m.Get(ctx, "/big"); ok {
				t.Errorf("Get(/big) = %p (size %d), true; want nothing", got, got.Size())
			}
			if got, ok, _ := m.Get(ctx, "/other"); !ok || !same(got, other) {
				t.Errorf("Get(/other) = %p, %v; want %p, true", got, ok, other)
			}
			if m.Len() != 1 || m.Bytes() != 100 || m.Evictions() != 0 {
				t.Errorf("Len, Bytes, Evictions = %d, %d, %d; want 1, 100, 0", m.Len(), m.Bytes(), m.Evictions())
			}
		})
	}
}

type revalidation struct {
	tags []string
	mode regen.RevalidateMode
	at   time.Time
}

func TestMemoryTagState(t *testing.T) {
	stale, expire := regen.RevalidateStale, regen.RevalidateExpire
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	type query struct {
		tags  []string
		since time.Time
		want  TagState
	}
	tests := []struct {
		name    string
		revals  []revalidation
		queries []query
	}{
		{
			name: "nothing revalidated",
			queries: []query{
				{[]string{"a"}, sec(0), TagState{}},
				{nil, sec(0), TagState{}},
				{[]string{"a"}, time.Time{}, TagState{}},
			},
		},
		{
			name:   "stale mode",
			revals: []revalidation{{[]string{"a"}, stale, sec(10)}},
			queries: []query{
				{[]string{"a"}, sec(9), TagState{Stale: true}},
				{[]string{"a"}, sec(10), TagState{}}, // equal is not after
				{[]string{"a"}, sec(10).Add(-time.Nanosecond), TagState{Stale: true}},
				{[]string{"a"}, sec(11), TagState{}},
				{[]string{"b"}, sec(9), TagState{}},
				{[]string{"b", "a"}, sec(9), TagState{Stale: true}},
				{nil, sec(9), TagState{}},
				{[]string{"a"}, time.Time{}, TagState{Stale: true}},
			},
		},
		{
			name:   "expire mode is stale too",
			revals: []revalidation{{[]string{"a"}, expire, sec(10)}},
			queries: []query{
				{[]string{"a"}, sec(9), TagState{Stale: true, Expired: true}},
				{[]string{"a"}, sec(10), TagState{}}, // equal is not after
				{[]string{"a"}, sec(11), TagState{}},
				{[]string{"b"}, sec(9), TagState{}},
			},
		},
		{
			name: "modes are kept apart",
			revals: []revalidation{
				{[]string{"a"}, expire, sec(10)},
				{[]string{"a"}, stale, sec(20)},
			},
			queries: []query{
				{[]string{"a"}, sec(5), TagState{Stale: true, Expired: true}},
				{[]string{"a"}, sec(15), TagState{Stale: true}},
				{[]string{"a"}, sec(20), TagState{}},
			},
		},
		{
			name: "stale time is monotonic",
			revals: []revalidation{
				{[]string{"a"}, stale, sec(20)},
				{[]string{"a"}, stale, sec(10)}, // earlier: ignored
			},
			queries: []query{
				{[]string{"a"}, sec(15), TagState{Stale: true}},
				{[]string{"a"}, sec(20), TagState{}},
			},
		},
		{
			name: "expire time is monotonic",
			revals: []revalidation{
				{[]string{"a"}, expire, sec(20)},
				{[]string{"a"}, expire, sec(10)}, // earlier: ignored
			},
			queries: []query{
				{[]string{"a"}, sec(15), TagState{Stale: true, Expired: true}},
				{[]string{"a"}, sec(20), TagState{}},
			},
		},
		{
			name: "later times replace earlier ones",
			revals: []revalidation{
				{[]string{"a"}, stale, sec(10)},
				{[]string{"a"}, stale, sec(20)},
				{[]string{"a"}, expire, sec(10)},
				{[]string{"a"}, expire, sec(30)},
			},
			queries: []query{
				{[]string{"a"}, sec(25), TagState{Stale: true, Expired: true}},
				{[]string{"a"}, sec(30), TagState{}},
			},
		},
		{
			name: "any tag counts",
			revals: []revalidation{
				{[]string{"a", "b"}, stale, sec(10)},
				{[]string{"c"}, expire, sec(20)},
			},
			queries: []query{
				{[]string{"x", "b"}, sec(5), TagState{Stale: true}},
				{[]string{"a", "c"}, sec(5), TagState{Stale: true, Expired: true}},
				{[]string{"c", "a"}, sec(5), TagState{Stale: true, Expired: true}},
				{[]string{"a", "c"}, sec(15), TagState{Stale: true, Expired: true}},
				{[]string{"a", "b"}, sec(15), TagState{}},
				{[]string{"x", "y"}, sec(5), TagState{}},
			},
		},
		{
			name:   "monotonic clock readings are ignored",
			revals: []revalidation{{[]string{"a"}, stale, time.Now()}},
			queries: []query{
				{[]string{"a"}, time.Now().Add(time.Hour), TagState{}},
			},
		},
		{
			name: "times out of the nanosecond range are clamped",
			revals: []revalidation{
				{[]string{"a"}, stale, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
			},
			queries: []query{
				{[]string{"a"}, sec(0), TagState{Stale: true}},
				{[]string{"a"}, time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC), TagState{}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory(MemoryOptions{Shards: 4})
			ctx := t.Context()
			for _, r := range tt.revals {
				if err := m.RevalidateTags(ctx, r.tags, r.mode, r.at); err != nil {
					t.Fatalf("RevalidateTags(%q, %v, %v) = %v", r.tags, r.mode, r.at, err)
				}
			}
			for _, q := range tt.queries {
				got, err := m.TagState(ctx, q.tags, q.since)
				if err != nil {
					t.Fatalf("TagState(%q, %v) error = %v", q.tags, q.since, err)
				}
				if got != q.want {
					t.Errorf("TagState(%q, %v) = %+v; want %+v", q.tags, q.since, got, q.want)
				}
			}
		})
	}
}

// TestMemoryTagStateFastPath checks that TagState does not look at the tag
// maps for tags not revalidated after since: it answers while every tag
// shard is locked for writing.
func TestMemoryTagStateFastPath(t *testing.T) {
	m := NewMemory(MemoryOptions{Shards: 4})
	ctx := t.Context()
	m.RevalidateTags(ctx, []string{"a"}, regen.RevalidateStale, t0)
	m.RevalidateTags(ctx, []string{"b"}, regen.RevalidateExpire, t0.Add(time.Second))

	for i := range m.tagShards {
		m.tagShards[i].mu.Lock()
	}
	done := make(chan TagState)
	go func() {
		st, _ := m.TagState(ctx, []string{"a", "b"}, t0.Add(time.Second))
		done <- st
	}()
	select {
	case st := <-done:
		if st != (TagState{}) {
			t.Errorf("TagState(a b, t0+1s) = %+v; want {}", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("TagState(a b, t0+1s) waited for a tag shard's lock; want the fast path")
	}
	for i := range m.tagShards {
		m.tagShards[i].mu.Unlock()
	}

	// One nanosecond earlier, the slow path finds b.
	st, _ := m.TagState(ctx, []string{"a", "b"}, t0.Add(time.Second-1))
	if want := (TagState{Stale: true, Expired: true}); st != want {
		t.Errorf("TagState(a b, t0+1s-1ns) = %+v; want %+v", st, want)
	}
}

func TestMemoryZeroAllocs(t *testing.T) {
	m := NewMemory(MemoryOptions{})
	ctx := t.Context()
	m.Set(ctx, "/blog/hello", item(1000))
	tags := []string{"_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/[slug]/page", "_N_T_/blog/hello", "posts"}
	m.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0)
	m.RevalidateTags(ctx, []string{"other"}, regen.RevalidateExpire, t0.Add(time.Hour))

	tests := []struct {
		name string
		f    func()
	}{
		{"Get hit", func() { m.Get(ctx, "/blog/hello") }},
		{"Get miss", func() { m.Get(ctx, "/blog/missing") }},
		{"GetTagged hit", func() { m.GetTagged(ctx, "/blog/hello") }},
		{"GetTagged miss", func() { m.GetTagged(ctx, "/blog/missing") }},
		{"TagState fast path", func() { m.TagState(ctx, tags, t0.Add(2*time.Hour)) }},
		{"TagState scan", func() { m.TagState(ctx, tags, t0.Add(time.Minute)) }},
		{"TagState stale", func() { m.TagState(ctx, tags, t0.Add(-time.Minute)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Errorf("%s: %v allocs per run; want 0", tt.name, n)
			}
		})
	}
}

// TestMemoryConcurrent runs every method from many goroutines; run it with
// -race. It then checks the shards' accounting and that the tag times are the
// latest of those recorded.
func TestMemoryConcurrent(t *testing.T) {
	const (
		workers = 16
		rounds  = 500
		nkeys   = 64
	)
	m := NewMemory(MemoryOptions{MaxBytes: 8 << 10, Shards: 4})
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				key := "/p/" + strconv.Itoa((w*7+i)%nkeys)
				tag := "t" + strconv.Itoa(i%8)
				switch i % 6 {
				case 0, 1:
					if err := m.Set(ctx, key, item(96+(w*31+i)%600)); err != nil {
						t.Error(err)
						return
					}
				case 2:
					if it, ok, _ := m.Get(ctx, key); ok && it.Status != 200 {
						t.Errorf("Get(%q).Status = %d; want 200", key, it.Status)
					}
				case 3:
					if it, _, ok, _ := m.GetTagged(ctx, key); ok && it.Status != 200 {
						t.Errorf("GetTagged(%q).Status = %d; want 200", key, it.Status)
					}
				case 4:
					mode := []regen.RevalidateMode{regen.RevalidateStale, regen.RevalidateExpire}[i/6%2]
					m.RevalidateTags(ctx, []string{tag, "all"}, mode, t0.Add(time.Duration(w*rounds+i)*time.Millisecond))
					m.TagState(ctx, []string{tag}, t0.Add(time.Duration(i)*time.Millisecond))
				case 5:
					if i%12 == 5 {
						m.Delete(ctx, key)
					}
					m.Len()
					m.Bytes()
					m.Evictions()
				}
			}
		})
	}
	wg.Wait()

	for i := range m.shards {
		s := &m.shards[i]
		var sum int64
		for _, e := range s.entries(t) {
			sum += e.size
		}
		if sum != s.bytes {
			t.Errorf("shard %d: bytes = %d; sum of sizes %d", i, s.bytes, sum)
		}
		if s.bytes > m.shardBytes {
			t.Errorf("shard %d: bytes = %d; over its budget %d", i, s.bytes, m.shardBytes)
		}
	}
	if m.Evictions() == 0 {
		t.Errorf("Evictions() = 0; want some (the budget is small)")
	}

	// The latest revalidation of "all" was by the last worker's last round
	// of case 4, in mode i/6%2.
	var last [2]time.Time // per mode
	for w := range workers {
		for i := range rounds {
			if i%6 == 4 {
				at := t0.Add(time.Duration(w*rounds+i) * time.Millisecond)
				mode := i / 6 % 2
				if at.After(last[mode]) {
					last[mode] = at
				}
			}
		}
	}
	stale, expire := last[0], last[1] // stale, expire
	checks := []struct {
		since time.Time
		want  TagState
	}{
		{stale.Add(-time.Nanosecond), TagState{Stale: true, Expired: !expire.Before(stale)}},
		{stale, TagState{Stale: expire.After(stale), Expired: expire.After(stale)}},
		{expire.Add(-time.Nanosecond), TagState{Stale: true, Expired: true}},
		{expire, TagState{Stale: stale.After(expire)}},
	}
	for _, c := range checks {
		got, _ := m.TagState(ctx, []string{"all"}, c.since)
		if got != c.want {
			t.Errorf("TagState(all, %v) = %+v; want %+v (latest stale %v, expire %v)", c.since, got, c.want, stale, expire)
		}
	}
}

func BenchmarkMemoryGet(b *testing.B) {
	const nkeys = 1024
	m := NewMemory(MemoryOptions{})
	ctx := b.Context()
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("/blog/post-%d", i)
		m.Set(ctx, keys[i], item(4096))
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok, _ := m.Get(ctx, keys[i%nkeys]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok, _ := m.Get(ctx, keys[i%nkeys]); !ok {
					b.Fatal("miss")
				}
				i++
			}
		})
	})
}

// BenchmarkMemoryGetCold reads pages (a typical header and five tags) in
// turn from a shard whose items kept ready are far fewer than its pages, so
// that nearly every read decodes its item from its record.
func BenchmarkMemoryGetCold(b *testing.B) {
	const nkeys = 4096
	m := NewMemory(MemoryOptions{MaxBytes: 64 << 20, Shards: 1})
	ctx := b.Context()
	keys := make([]string, nkeys)
	tags := []string{"_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/[slug]/layout", "_N_T_/blog/[slug]/page"}
	for i := range keys {
		keys[i] = fmt.Sprintf("/blog/post-%d", i)
		it := &Item{Status: 200, Body: make([]byte, 1024), Tags: append(slices.Clip(tags), "_N_T_"+keys[i]),
			Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Etag": {fmt.Sprintf(`"%x"`, i)}, "Content-Length": {"1024"}}}
		m.Set(ctx, keys[i], it)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, _ := m.Get(ctx, keys[i*7919%nkeys]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func BenchmarkMemoryTagState(b *testing.B) {
	ctx := b.Context()
	tags := []string{"_N_T_/layout", "_N_T_/blog/layout", "_N_T_/blog/[slug]/page", "_N_T_/blog/hello", "posts", "authors"}
	m := NewMemory(MemoryOptions{})
	for i := range 1000 {
		m.RevalidateTags(ctx, []string{"tag-" + strconv.Itoa(i)}, regen.RevalidateStale, t0)
	}
	m.RevalidateTags(ctx, []string{"posts"}, regen.RevalidateStale, t0)
	m.RevalidateTags(ctx, []string{"unrelated"}, regen.RevalidateExpire, t0.Add(time.Hour))

	cases := []struct {
		name  string
		since time.Time
	}{
		// Nothing revalidated after since: a hash and a load per tag.
		{"fast", t0.Add(2 * time.Hour)},
		// Another tag revalidated after since: the same, unless it shares a mark.
		{"scan", t0.Add(time.Minute)},
		// One of the tags is stale.
		{"stale", t0.Add(-time.Minute)},
	}
	for _, c := range cases {
		b.Run(c.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.TagState(ctx, tags, c.since)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.TagState(ctx, tags, c.since)
				}
			})
		})
	}
}

func BenchmarkMemorySet(b *testing.B) {
	ctx := b.Context()
	const nkeys = 1024
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("/blog/post-%d", i)
	}
	it := item(4096)
	cases := []struct {
		name     string
		maxBytes int64
	}{
		{"replace", 0},       // every key fits: Set replaces
		{"evict", 64 * 4096}, // a sixteenth fits: Set evicts
	}
	for _, c := range cases {
		b.Run(c.name+"/serial", func(b *testing.B) {
			m := NewMemory(MemoryOptions{MaxBytes: c.maxBytes})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Set(ctx, keys[i%nkeys], it)
				i++
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			m := NewMemory(MemoryOptions{MaxBytes: c.maxBytes})
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					m.Set(ctx, keys[i%nkeys], it)
					i++
				}
			})
		})
	}
}

// TestMemoryTable grows, empties and refills one shard's table, and checks
// after each step that every key held is found, every key removed is not,
// and the table and the LRU list agree.
func TestMemoryTable(t *testing.T) {
	m := newMemory(MemoryOptions{MaxBytes: 1 << 30, Shards: 1})
	ctx := t.Context()
	key := func(i int) string { return "/k/" + strconv.Itoa(i) }
	check := func(step string, held func(i int) bool) {
		t.Helper()
		n := 0
		for i := range 3000 {
			it, ok, _ := m.Get(ctx, key(i))
			if ok != held(i) {
				t.Fatalf("%s: Get(%q) found %v; want %v", step, key(i), ok, held(i))
			}
			if ok {
				n++
				if len(it.Body) != i {
					t.Fatalf("%s: Get(%q) = an item of %d bytes; want %d", step, key(i), len(it.Body), i)
				}
			}
		}
		if got := len(m.shards[0].entries(t)); got != n || m.Len() != n {
			t.Fatalf("%s: %d entries listed, Len() = %d; want %d", step, got, m.Len(), n)
		}
	}
	for i := range 2000 {
		m.Set(ctx, key(i), item(i))
	}
	check("2000 set", func(i int) bool { return i < 2000 })
	for i := 0; i < 2000; i += 2 {
		m.Delete(ctx, key(i))
	}
	check("even deleted", func(i int) bool { return i < 2000 && i%2 == 1 })
	for i := 1000; i < 3000; i++ {
		m.Set(ctx, key(i), item(i))
	}
	check("1000-2999 set", func(i int) bool { return i >= 1000 || i%2 == 1 })
	for i := range 3000 {
		m.Delete(ctx, key(i))
	}
	check("all deleted", func(int) bool { return false })
	if got := len(m.shards[0].table.Load().slots); got > 4096 {
		t.Errorf("table of %d slots after 3000 deletes; want at most 4096", got)
	}
	m.Set(ctx, key(7), item(7))
	check("one set", func(i int) bool { return i == 7 })
}

// wrapped is a Store that is not a *Memory, so that GetTagged asks it
// through Get and TagState.
type wrapped struct{ Store }

// TestGetTagged: GetTagged answers as Get and TagState of the item's tags
// since it was made, for a Memory (which remembers its checks) and for
// another store, before and after revalidations of its tags and of others.
func TestGetTagged(t *testing.T) {
	stale, expire := regen.RevalidateStale, regen.RevalidateExpire
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	steps := []struct {
		reval *revalidation // before the GetTagged; nil: none
		want  TagState
	}{
		{nil, TagState{}},
		{nil, TagState{}}, // remembered
		{&revalidation{[]string{"other"}, expire, sec(20)}, TagState{}},
		{&revalidation{[]string{"a"}, stale, sec(5)}, TagState{}},  // before the item
		{&revalidation{[]string{"a"}, stale, sec(10)}, TagState{}}, // at its creation: not after
		{nil, TagState{}},
		{&revalidation{[]string{"b", "c"}, stale, sec(30)}, TagState{Stale: true}},
		{nil, TagState{Stale: true}},
		{&revalidation{[]string{"other"}, expire, sec(40)}, TagState{Stale: true}},
		{&revalidation{[]string{"a"}, expire, sec(40)}, TagState{Stale: true, Expired: true}},
		{nil, TagState{Stale: true, Expired: true}},
	}
	for _, name := range []string{"memory", "wrapped"} {
		t.Run(name, func(t *testing.T) {
			m := NewMemory(MemoryOptions{Shards: 4})
			var s Store = m
			if name == "wrapped" {
				s = wrapped{m}
			}
			ctx := t.Context()
			it := &Item{Status: 200, Tags: []string{"a", "b"}, Created: sec(10)}
			m.Set(ctx, "/p", it)
			for i, step := range steps {
				if r := step.reval; r != nil {
					m.RevalidateTags(ctx, r.tags, r.mode, r.at)
				}
				got, ts, ok, err := GetTagged(ctx, s, "/p")
				if err != nil || !ok || !same(got, it) || ts != step.want {
					t.Errorf("step %d: GetTagged(/p) = %p, %+v, %v, %v; want %p, %+v, true, nil", i, got, ts, ok, err, it, step.want)
				}
				if want, _ := m.TagState(ctx, it.Tags, it.Created); ts != want {
					t.Errorf("step %d: GetTagged(/p) tags %+v; TagState says %+v", i, ts, want)
				}
			}
			if got, ts, ok, err := GetTagged(ctx, s, "/missing"); got != nil || ts != (TagState{}) || ok || err != nil {
				t.Errorf("GetTagged(/missing) = %p, %+v, %v, %v; want nil, {}, false, nil", got, ts, ok, err)
			}
		})
	}
}

// TestMemoryReadsDuringRebuild: while writers grow, empty and rebuild a
// shard's table around them, readers of keys that stay stored always find
// them; run it with -race.
func TestMemoryReadsDuringRebuild(t *testing.T) {
	m := newMemory(MemoryOptions{MaxBytes: 1 << 30, Shards: 1})
	ctx := t.Context()
	stable := make([]string, 64)
	for i := range stable {
		stable[i] = "/stable/" + strconv.Itoa(i)
		m.Set(ctx, stable[i], item(i))
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for round := range 20 {
				for i := range 500 {
					m.Set(ctx, fmt.Sprintf("/churn/%d/%d", w, i), item(1))
				}
				for i := range 500 {
					m.Delete(ctx, fmt.Sprintf("/churn/%d/%d", w, i))
				}
				// Replacing a stable key keeps it stored.
				m.Set(ctx, stable[round%len(stable)], item(round%len(stable)))
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for i, k := range stable {
					it, ok, _ := m.Get(ctx, k)
					if !ok || len(it.Body) != i {
						t.Errorf("Get(%q) = %v; want the stored item", k, ok)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if got := len(m.shards[0].entries(t)); got != len(stable) {
		t.Errorf("%d entries left; want %d", got, len(stable))
	}
}

// TestGetTaggedRevalidatedWhileRead: a GetTagged that starts after a
// RevalidateTags of the item's tag returns sees it, however many reads
// remembered the item's tags as clean just before; run it with -race.
func TestGetTaggedRevalidatedWhileRead(t *testing.T) {
	m := NewMemory(MemoryOptions{Shards: 4})
	ctx := t.Context()
	for round := range 200 {
		created := t0.Add(time.Duration(round) * time.Hour)
		m.Set(ctx, "/p", &Item{Status: 200, Tags: []string{"x", "t"}, Created: created})
		var revalidated atomic.Bool
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for range 200 {
					after := revalidated.Load()
					_, ts, _, _ := m.GetTagged(ctx, "/p")
					if after && !ts.Stale {
						t.Errorf("round %d: GetTagged after the revalidation = %+v; want stale", round, ts)
						return
					}
				}
			})
		}
		m.RevalidateTags(ctx, []string{"other"}, regen.RevalidateStale, created.Add(time.Minute))
		m.RevalidateTags(ctx, []string{"t"}, regen.RevalidateStale, created.Add(time.Minute))
		revalidated.Store(true)
		wg.Wait()
	}
}

// TestMemorySlabs: records go to shared slabs or, when large, to slabs of
// their own; slabs whose records all died are dropped, whichever they are;
// and a shard whose slabs are mostly dead copies their live records
// forward, so what the slabs take stays within a quarter of what the live
// records take (plus the head slabs' room), with every item still found
// whole.
func TestMemorySlabs(t *testing.T) {
	m := NewMemory(MemoryOptions{MaxBytes: 1 << 30, Shards: 1})
	ctx := t.Context()
	s := &m.shards[0]
	body := func(i, n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i + j)
		}
		return b
	}
	size := func(i int) int {
		if i%7 == 0 {
			return 100 << 10 // a slab of its own
		}
		return 200 + i%900
	}
	key := func(i int) string { return "/s/" + strconv.Itoa(i) }
	const n = 3000
	for i := range n {
		it := &Item{Status: 200, Body: body(i, size(i)), Tags: []string{"t", key(i) + "/tag"},
			Header: http.Header{"Etag": {strconv.Itoa(i)}, "Content-Type": {"text/html"}}, Created: t0}
		if err := m.Set(ctx, key(i), it); err != nil {
			t.Fatal(err)
		}
	}
	kept := func(i int) bool { return i%5 == 0 }
	for i := range n {
		if !kept(i) {
			m.Delete(ctx, key(i))
		}
	}
	s.entries(t)
	s.mu.Lock()
	alloc, live, room := s.alloc, s.liveN, m.room(s)
	s.mu.Unlock()
	if limit := live + live/4 + 2*int64(maxSlab) + room; alloc > limit {
		t.Errorf("slabs take %d bytes for %d live; want at most %d", alloc, live, limit)
	}
	for i := range n {
		it, ok, _ := m.Get(ctx, key(i))
		if ok != kept(i) {
			t.Fatalf("Get(%q) found %v; want %v", key(i), ok, kept(i))
		}
		if !ok {
			continue
		}
		if !bytes.Equal(it.Body, body(i, size(i))) {
			t.Fatalf("Get(%q): a body of %d bytes that differs from the one stored", key(i), len(it.Body))
		}
		got := *it
		got.Body = nil
		want := &Item{Status: 200, Tags: []string{"t", key(i) + "/tag"},
			Header: http.Header{"Etag": {strconv.Itoa(i)}, "Content-Type": {"text/html"}}, Created: t0}
		if diff := cmp.Diff(want, &got); diff != "" {
			t.Fatalf("Get(%q) mismatch (-want +got):\n%s", key(i), diff)
		}
	}
	// A slab of its own, the newest, dropped before the next slab comes.
	for r := range 50 {
		m.Set(ctx, "/big", &Item{Status: 200, Body: body(r, 100<<10)})
		m.Delete(ctx, "/big")
		m.Set(ctx, "/big", &Item{Status: 200, Body: body(r, 100<<10)})
		if it, ok, _ := m.Get(ctx, "/big"); !ok || !bytes.Equal(it.Body, body(r, 100<<10)) {
			t.Fatalf("round %d: Get(/big) = %v; want the item set", r, ok)
		}
	}
	s.entries(t)
	m.Delete(ctx, "/big")
	for i := range n {
		m.Delete(ctx, key(i))
	}
	if d := s.dir.Load(); s.nslabs > 1 || len(d.slabs) > 2*s.nslabs+8 || m.Len() != 0 {
		t.Errorf("after deleting all: %d slabs, %d in the directory, Len %d; want at most the head, in a directory of at most 10", s.nslabs, len(d.slabs), m.Len())
	}
}

// TestMemoryModel runs random Sets, Gets and Deletes of items of every
// size (sharing slabs, or with slabs of their own) against a map, with a
// budget that holds them all and with one that evicts: a Get returns the
// latest item set under its key or, when the store evicted it, nothing;
// never another. The shards' lists, tables and slabs agree throughout.
func TestMemoryModel(t *testing.T) {
	for _, budget := range []int64{1 << 30, 256 << 10} {
		t.Run(strconv.FormatInt(budget, 10), func(t *testing.T) {
			m := NewMemory(MemoryOptions{MaxBytes: budget, Shards: 2})
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(7, uint64(budget)))
			model := map[string]int{} // key → the version last set; absent: deleted
			// Version v's headers: its ETag, and a Content-Length that is
			// its body's length (kept by the record as a flag), another
			// number, a number written another way, or none.
			header := func(v, n int) http.Header {
				h := http.Header{"Etag": {strconv.Itoa(v)}, "Content-Type": {"text/html"}}
				switch v % 4 {
				case 0:
					h["Content-Length"] = []string{strconv.Itoa(n)}
				case 1:
					h["Content-Length"] = []string{strconv.Itoa(n + 1)}
				case 2:
					h["Content-Length"] = []string{"0" + strconv.Itoa(n)}
				}
				return h
			}
			mk := func(key string, v int) *Item {
				n := rng.IntN(2000)
				if rng.IntN(20) == 0 {
					n = 70<<10 + rng.IntN(10<<10) // a slab of its own
				}
				body := make([]byte, n)
				for i := range body {
					body[i] = byte(v + i)
				}
				return &Item{Status: 200 + v%100, Body: body, Tags: []string{"v" + strconv.Itoa(v), "_N_T_" + key},
					Header: header(v, n), Created: t0.Add(time.Duration(v))}
			}
			check := func(key string, it *Item, ok bool) {
				t.Helper()
				v, set := model[key]
				if !ok {
					if set && budget == 1<<30 {
						t.Fatalf("Get(%q) found nothing; want version %d", key, v)
					}
					return
				}
				if !set {
					t.Fatalf("Get(%q) found version %s; want nothing (deleted)", key, it.Header.Get("Etag"))
				}
				if got := it.Header.Get("Etag"); got != strconv.Itoa(v) || it.Status != 200+v%100 || !it.Created.Equal(t0.Add(time.Duration(v))) {
					t.Fatalf("Get(%q) = version %s; want %d", key, got, v)
				}
				if diff := cmp.Diff(header(v, len(it.Body)), it.Header); diff != "" {
					t.Fatalf("Get(%q) header mismatch (-want +got):\n%s", key, diff)
				}
				for i, b := range it.Body {
					if b != byte(v+i) {
						t.Fatalf("Get(%q): byte %d of the body is %d; want %d", key, i, b, byte(v+i))
					}
				}
			}
			for op := range 6000 {
				key := "/m/" + strconv.Itoa(rng.IntN(300))
				switch r := rng.IntN(10); {
				case r < 4:
					m.Set(ctx, key, mk(key, op))
					model[key] = op
				case r < 5:
					m.Delete(ctx, key)
					delete(model, key)
				default:
					it, ok, _ := m.Get(ctx, key)
					check(key, it, ok)
				}
				if op%1000 == 999 {
					for i := range m.shards {
						m.shards[i].entries(t)
					}
				}
			}
			for key := range model {
				it, ok, _ := m.Get(ctx, key)
				check(key, it, ok)
			}
			if budget < 1<<30 && m.Evictions() == 0 {
				t.Errorf("no evictions under a budget of %d", budget)
			}
			for i := range m.shards {
				s := &m.shards[i]
				s.mu.Lock()
				alloc, live, room, ids := s.alloc, s.liveN, m.room(s), s.nextID
				s.mu.Unlock()
				if limit := live + live/4 + 2*int64(maxSlab) + room; alloc > limit {
					t.Errorf("shard %d: slabs take %d bytes for %d live; want at most %d", i, alloc, live, limit)
				}
				t.Logf("shard %d: %d slabs made, %d bytes in slabs for %d live", i, ids-1, alloc, live)
			}
		})
	}
}

// TestMemoryCreated: an item's Created comes back as the same instant (in
// UTC, or in time.Local if it was), the zero time as the zero time, and a
// time past 2262 clamped; its status, tags, nil body and nil header too.
func TestMemoryCreated(t *testing.T) {
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		created time.Time
		want    time.Time
	}{
		{"utc", t0.Add(123 * time.Nanosecond), t0.Add(123 * time.Nanosecond)},
		{"local", t0.Local(), t0.Local()},
		{"other zone", t0.In(time.FixedZone("X", 3600)), t0},
		{"zero", time.Time{}, time.Time{}},
		{"monotonic", time.Now(), time.Time{}}, // want: the same instant
		{"past 2262", far, time.Unix(0, math.MaxInt64).UTC()},
	}
	m := NewMemory(MemoryOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if tt.name == "monotonic" {
				want = tt.created.Round(0).Local()
			}
			m.Set(t.Context(), "/c", &Item{Status: 404, Created: tt.created, Tags: []string{}})
			it, ok, _ := m.Get(t.Context(), "/c")
			if !ok || it.Created != want || it.Status != 404 || it.Body != nil || it.Header != nil || it.Tags == nil {
				t.Errorf("Get = %+v, %v; want Created %v (%v), status 404, nil body and header, empty tags", it, ok, want, want.Location())
			}
		})
	}
}

// TestMemoryReady: the items last read are kept ready in sets of hotWays,
// so that as many keys read in turn whose records fall in one set all stay
// ready (a reread returns the same *Item, without decoding); one more read
// in the set displaces one of them, and stays ready itself.
func TestMemoryReady(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(MemoryOptions{MaxBytes: 1 << 20, Shards: 1})
	s := &m.shards[0]
	if len(s.hot) != minHot {
		t.Fatalf("a shard of 1 MiB keeps %d items ready; want %d", len(s.hot), minHot)
	}
	set := func(key string) uint64 {
		l, _, _ := s.lookup(key, uint32(m.hash(key)>>32))
		return (uint64(l) * 0x9e3779b97f4a7c15) >> (64 - s.hotBits) &^ (hotWays - 1)
	}
	byset := map[uint64][]string{}
	var keys []string
	for i := 0; len(keys) == 0; i++ {
		key := fmt.Sprintf("/k%d", i)
		if err := m.Set(ctx, key, &Item{Status: 200, Header: http.Header{"Etag": {key}}, Body: []byte(key)}); err != nil {
			t.Fatal(err)
		}
		if byset[set(key)] = append(byset[set(key)], key); len(byset[set(key)]) == hotWays+1 {
			keys = byset[set(key)]
		}
	}
	get := func(key string) *Item {
		it, ok, _ := m.Get(ctx, key)
		if !ok || string(it.Body) != key || it.Header.Get("Etag") != key {
			t.Fatalf("Get(%q) = %v, %v; want its item", key, it, ok)
		}
		return it
	}
	items := make([]*Item, hotWays)
	for i := range items {
		items[i] = get(keys[i])
	}
	for i := range items {
		if get(keys[i]) != items[i] {
			t.Errorf("%d keys of one set read in turn: %q was decoded again; want all kept ready", hotWays, keys[i])
		}
	}
	last := get(keys[hotWays])
	if get(keys[hotWays]) != last {
		t.Errorf("the key read last was not kept ready")
	}
	kept := 0
	for i := range items {
		for j := range hotWays {
			if hi := s.hot[set(keys[i])+uint64(j)].Load(); hi != nil && &hi.it == items[i] {
				kept++
			}
		}
	}
	if kept != hotWays-1 {
		t.Errorf("after a read of a %dth key of one set, %d of the first %d stay ready; want %d", hotWays+1, kept, hotWays, hotWays-1)
	}
}
