// Package store defines the storage layer under regen's caches: items of bytes
// plus metadata, and the times at which tags were revalidated.
//
// Storage is below policy: a Store keeps items and tag times, bounded in
// bytes, and evicts what it must; the caches above it (fetchcache, routecache)
// decide what is fresh. Memory is the in-process implementation; the disk and
// Redis stores live in store/disk and store/redis.
package store

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/regen-dev/regen"
)

// ErrUnavailable is matched by errors from a store that cannot be reached.
var ErrUnavailable = errors.New("store: unavailable")

// Item is one cached value: a rendered route or a fetched response.
//
// An Item is immutable once passed to Set, and so is what Get returns:
// stores may keep the item passed to Set, hand the same *Item to several
// Gets, or return one whose Body and strings share their own memory, so
// callers must not modify an Item, its Header, its Tags or its Body.
type Item struct {
	Status     int              // HTTP status of the rendered or fetched response
	Header     http.Header      // response headers
	Body       []byte           // response body
	Tags       []string         // explicit and implicit tags
	Created    time.Time        // when the content was produced (the render's or fetch's start)
	Revalidate regen.Revalidate // interval after which the item is stale
	Expire     time.Duration    // age after which the item is dropped; 0: never
}

// Size returns the bytes the item takes in the heap: the Item itself, its
// body, its header map with its values, and its tags, each rounded up to
// the block the Go allocator gives it. Header names and tag strings are
// counted as references, not by their bytes: they are the vocabulary items
// share (canonical header names are constants; a route's tags, and the tags
// its fetches declare, are made once for all its pages), and counting them
// in every item would overcharge a page by a tenth or more. Size does not
// allocate, and takes time in proportion to the number of headers.
func (it *Item) Size() int64 {
	n := itemBytes + allocSize(int64(cap(it.Body)), false) + headerBytes(it.Header)
	return n + allocSize(int64(cap(it.Tags))*stringHeader, true)
}

// TagState says whether any of a set of tags was revalidated after a time.
type TagState struct {
	Stale   bool // revalidated in stale mode: serve once, refresh in the background
	Expired bool // revalidated in expire mode: do not serve
	// ExpireAt, when not zero, is the earliest deadline of the tags'
	// latest revalidations by a profile (a mode with an expire) made after
	// the time asked about: entries made before them expire then.
	ExpireAt time.Time
}

// ExpiredAt reports whether an entry in this state is expired at now: a
// tag was revalidated in expire mode, or a profile's deadline has passed.
func (ts TagState) ExpiredAt(now time.Time) bool {
	return ts.Expired || !ts.ExpireAt.IsZero() && !now.Before(ts.ExpireAt)
}

// Merge returns the state of the tags of s and o together: stale or
// expired if either is, and the earlier ExpireAt.
func (ts TagState) Merge(o TagState) TagState {
	m := TagState{Stale: ts.Stale || o.Stale, Expired: ts.Expired || o.Expired, ExpireAt: ts.ExpireAt}
	if !o.ExpireAt.IsZero() && (m.ExpireAt.IsZero() || o.ExpireAt.Before(m.ExpireAt)) {
		m.ExpireAt = o.ExpireAt
	}
	return m
}

// Store keeps items under string keys, and the latest revalidation time of
// each tag. Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the item stored under key. ok is false when there is none.
	Get(ctx context.Context, key string) (it *Item, ok bool, err error)
	// Set stores it under key, replacing any previous item atomically.
	Set(ctx context.Context, key string, it *Item) error
	// Delete removes the item under key, if any.
	Delete(ctx context.Context, key string) error
	// RevalidateTags records that tags were revalidated at time at, in mode.
	// Later times replace earlier ones; an earlier time never replaces a later one.
	// A mode with an expire (mode.ExpireAfter) records, besides the stale
	// time, the pair (at, at+expire) of the tag's latest such revalidation.
	RevalidateTags(ctx context.Context, tags []string, mode regen.RevalidateMode, at time.Time) error
	// TagState reports whether any of tags was revalidated strictly after
	// since, and the earliest ExpireAt of the profile revalidations among
	// them made strictly after since.
	TagState(ctx context.Context, tags []string, since time.Time) (TagState, error)
}

// GetTagged returns the item stored under key in s and the state of its
// tags since it was made, as Get and then TagState(ctx, it.Tags,
// it.Created) report them. For a *Memory it is Memory.GetTagged, which
// remembers that an item's tags were checked since the latest
// revalidation. (A store that wraps a Memory is asked through its own Get
// and TagState, so that what it does in them is never bypassed.)
func GetTagged(ctx context.Context, s Store, key string) (*Item, TagState, bool, error) {
	if m, ok := s.(*Memory); ok {
		return m.GetTagged(ctx, key)
	}
	it, ok, err := s.Get(ctx, key)
	if err != nil || !ok || it == nil {
		return nil, TagState{}, false, err
	}
	ts, err := s.TagState(ctx, it.Tags, it.Created)
	if err != nil {
		return nil, TagState{}, false, err
	}
	return it, ts, true, nil
}

// Locker is implemented by stores that several engines share. An engine
// whose store is a Locker takes a path's lock before rendering it, so one
// instance renders a path at a time: when another instance holds the lock, a
// stale path goes on being served as STALE, and a missing path waits for the
// other instance's entry (up to a bound) before rendering itself.
type Locker interface {
	// TryLock takes the lock named key for lease, renewing the lease while
	// it is held. ok is false when another holder has it. unlock releases
	// it; a holder that crashes loses it when its lease ends.
	TryLock(ctx context.Context, key string, lease time.Duration) (unlock func(), ok bool, err error)
}
