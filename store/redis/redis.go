package redis

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/regen-dev/regen"
	"github.com/regen-dev/regen/store"
)

// Defaults of Options.
const (
	DefaultPrefix        = "regen"
	DefaultReadTimeout   = 50 * time.Millisecond
	DefaultWriteTimeout  = 250 * time.Millisecond
	DefaultRetryInterval = 500 * time.Millisecond
	DefaultOpenWait      = 2 * time.Second
	DefaultMaxPending    = 10000
)

// Options configure a Store. The zero value means all defaults.
type Options struct {
	// Prefix starts every key and the channel, so that several sites can
	// share one Redis. If empty, "regen". A prefix holding braces ("{site}")
	// puts every key in one Redis Cluster slot.
	Prefix string

	// LocalMaxBytes bounds the local tier, a store.Memory in front of Redis.
	// If zero, store.DefaultMaxBytes (256 MiB).
	LocalMaxBytes int64

	// ReadTimeout bounds each read from Redis made for a request: a local
	// miss, or a local item whose tags were revalidated. When it passes, the
	// request is answered from the local tier. If zero, 50ms.
	ReadTimeout time.Duration

	// WriteTimeout bounds each write, lock operation and background
	// operation. A write that does not finish in time is queued and retried.
	// If zero, 250ms.
	WriteTimeout time.Duration

	// RetryInterval is how often an unavailable Redis is tried again. If
	// zero, 500ms.
	RetryInterval time.Duration

	// OpenWait is how long Open waits for Redis before returning a store
	// that starts unavailable and connects in the background. If zero, 2s;
	// if negative, Open does not wait.
	OpenWait time.Duration

	// MaxPending bounds the item writes (Set and Delete) queued while Redis
	// is unavailable; beyond it the oldest is dropped, and counted in Stats.
	// Revalidations are never dropped: they are merged per tag, keeping the
	// latest time. If zero, 10,000.
	MaxPending int

	// TTL is how long Redis keeps an item that has no Expire. If zero, such
	// an item stays until it is replaced, deleted or evicted by Redis. Items
	// with an Expire are kept for their Expire.
	TTL time.Duration

	// Logger receives one record when Redis becomes unavailable and one when
	// it is back. If nil, slog.Default().
	Logger *slog.Logger

	// Client, if set, is used instead of a client made from Open's url: a
	// *goredis.ClusterClient, for example. Close does not close it. Its
	// options should enable ContextTimeoutEnabled, so that the timeouts
	// above bound every call.
	Client goredis.UniversalClient
}

// Store is a store.Store and store.Locker kept in Redis and shared by any
// number of engines, with a local store.Memory in front of it. It is safe
// for concurrent use. See the package documentation for its key layout,
// encoding, consistency model and behavior when Redis fails.
type Store struct {
	rdb    goredis.UniversalClient
	ownRDB bool
	opts   Options // with the defaults filled in
	log    *slog.Logger
	id     [idLen]byte // this instance, to ignore its own messages

	itemPrefix, lockPrefix string // "<prefix>:item:{", "<prefix>:lock:{"
	tagsKey, channel       string

	items    atomic.Pointer[store.Memory] // the local tier of items; replaced whole on resync
	tags     *store.Memory                // the local copy of every tag time; never reset
	tagEpoch atomic.Uint64                // bumped whenever local tag times change
	gen      atomic.Uint64                // bumped whenever the local items are dropped whole
	stripes  [nStripes]stripe
	reads    singleflight.Group // one Redis read per key at a time

	// up: Redis answers, nothing is queued for it, and the local tier has
	// been brought in sync with it since the subscription last started.
	up         atomic.Bool
	firstUp    chan struct{} // closed the first time up is set
	upOnce     sync.Once
	refused    chan struct{} // closed the first time Redis refuses the store's writes
	refuseOnce sync.Once
	skewLogged atomic.Bool
	reachable  atomic.Bool // the keeper's last probe of Redis succeeded
	subscribed atomic.Bool // the subscription is confirmed and healthy
	needResync atomic.Bool // the subscription (re)started: reload the tag times

	mu           sync.Mutex // protects the fields below
	queue        list.List  // of *op, oldest first
	queued       map[string]*list.Element
	replaying    map[string]int // keys whose write a replay took from the queue and has not yet applied or put back
	pendingTags  map[string]tagTimes
	tagsWriting  int  // the tag times flushTags took from pendingTags and has not yet written or put back
	degraded     bool // an outage was logged and has not ended
	downSince    time.Time
	lastErr      error
	dropLogged   bool // a dropped write was logged in this outage
	refuseLogged bool // a refusal was logged in this outage

	pending atomic.Int64 // queue.Len() + len(pendingTags), read without mu
	nReplay atomic.Int64 // the writes counted in replaying, read without mu

	nodeMu    sync.Mutex             // protects down
	down      map[string]*nodeOutage // cluster masters found failing, by address
	nodesDown atomic.Int32           // len(down), read without nodeMu

	knownMu sync.Mutex          // protects known and epoch
	known   map[string]tagTimes // every tag time this instance knows, to write back
	epoch   string              // the tag hash's epoch last seen

	wake    chan struct{} // pokes the keeper
	reached chan struct{} // the keeper tells the subscriber that Redis is reachable
	stop    chan struct{} // closed by Close

	lifeMu sync.Mutex // protects closed and ps
	closed bool
	ps     *goredis.PubSub
	wg     sync.WaitGroup // the keeper, the subscriber and lock renewers

	stats counters
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Locker = (*Store)(nil)
)

const nStripes = 64

// maxChecked bounds each stripe's memory of checked items.
const maxChecked = 1024

// stripe serializes, for the keys hashing to it, local writes and
// invalidations with the installing of items read from Redis, so that an
// item read before a newer one was written is never installed after it.
type stripe struct {
	mu      sync.Mutex          // protects the maps
	reading map[string]*reading // reads from Redis in flight, by key
	checked map[string]checkMark
}

// reading is what happened to a key while it was being read from Redis.
type reading struct {
	spoiled bool   // the key was written, deleted or dropped locally
	set     bool   // another instance announced a Set: Redis holds setAt
	setAt   uint64 // timeBits(Created) of the latest announced Set
	del     bool   // another instance announced a Delete up to delAt
	delAt   uint64
}

// installable reports whether an item created at c, read from Redis while
// r happened, may be kept in the local tier: it is what Redis holds now.
func (r *reading) installable(c uint64) bool {
	return !r.spoiled && (!r.set || c == r.setAt) && (!r.del || c > r.delAt)
}

// spoil records a local write of key: a read in flight must not install
// what it read, and a check of its old item is void. Called with mu held.
func (st *stripe) spoil(key string) {
	if r := st.reading[key]; r != nil {
		r.spoiled = true
	}
	delete(st.checked, key)
}

// checkMark records that Redis held nothing newer than a local item whose
// tags were revalidated, as of tag epoch epoch: until the next change of
// tag times, the item is served without asking again. The item is known by
// its Created (a local write of its key drops the mark): the local tier
// may give back a new copy of the same item, and the mark must not keep it
// alive.
type checkMark struct {
	epoch   uint64
	created time.Time
}

// op is an item write waiting for Redis.
type op struct {
	key string
	del bool
	val []byte        // Set: the encoded item
	ttl time.Duration // Set
	at  uint64        // Set: timeBits(Created); Delete: upTo
}

type counters struct {
	outages, redisHits, redisMisses, refreshes, fallbacks atomic.Int64
	queued, dropped, replayed, resyncs, messages          atomic.Int64
	lockErrors, locksLost, corrupt                        atomic.Int64
	nodeOutages, writtenBack, clockSkew                   atomic.Int64
}

// Stats are a Store's counters since Open.
type Stats struct {
	// Available reports whether Redis answers and the local tier is in sync
	// with it. While false, requests are served from the local tier alone.
	Available bool
	// Outages counts the times Redis became unavailable.
	Outages int64
	// RedisHits counts local misses answered from Redis; RedisMisses those
	// Redis did not hold either.
	RedisHits, RedisMisses int64
	// Refreshes counts local items replaced by a newer one found in Redis
	// after their tags were revalidated.
	Refreshes int64
	// Fallbacks counts reads answered from the local tier alone because
	// Redis was unavailable, slow or failing.
	Fallbacks int64
	// NodesDown is how many Redis Cluster masters are failing now: their
	// keys are served from the local tier and their writes queued, while
	// the other masters' keys are read and written as usual. NodeOutages
	// counts the times a master was found failing.
	NodesDown   int
	NodeOutages int64
	// Queued counts writes and tag revalidations queued for Redis; Dropped
	// the queued item writes (Set and Delete: pages and data entries, never
	// revalidations) dropped because MaxPending was reached; Replayed
	// those applied to Redis later. Pending is how many are not in Redis
	// yet: queued, or being written by a replay.
	Queued, Dropped, Replayed int64
	Pending                   int64
	// WrittenBack counts tag revalidation times written back to Redis
	// because it had lost them (the tag hash was found younger than this
	// instance's copy, or older times in it after a reconnection).
	WrittenBack int64
	// ClockSkew is how far Redis's clock (TIME) was ahead of this
	// instance's when last measured, at connection. See the package
	// documentation.
	ClockSkew time.Duration
	// Resyncs counts reloads of every tag time from Redis, made each time
	// the subscription starts, each dropping the local items.
	Resyncs int64
	// Messages counts messages received from other instances.
	Messages int64
	// LockErrors counts TryLock calls that failed because Redis was
	// unavailable; LocksLost the locks whose lease ended while held.
	LockErrors, LocksLost int64
	// Corrupt counts values and messages that could not be decoded.
	Corrupt int64
}

// Open returns a Store over the Redis at url, or over opts.Client:
//
//	redis://[[user]:password@]host:port[/db]       one server ("rediss://" for TLS)
//	redis+cluster://[[user]:password@]host:port[?addr=host:port&addr=...]
//	                                               a Redis Cluster, found through
//	                                               these nodes ("rediss+cluster://" for TLS)
//
// The URL's query takes the options goredis.ParseURL and
// goredis.ParseClusterURL take (dial_timeout, pool_size, ...).
//
// Open fails when url is malformed, and when Redis answers but refuses
// the store's writes (ErrRefused): a cluster node opened as one server, a
// read-only replica, a user without the permissions. It waits up to
// opts.OpenWait, or until ctx is done, for Redis to answer and for the tag
// times to be loaded; if Redis is down by then, the Store starts
// unavailable, serving from its local tier, logs that once, and connects in
// the background (a refusal found then is logged as an error).
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	rdb, own := opts.Client, false
	if rdb == nil {
		c, err := newClient(url)
		if err != nil {
			return nil, fmt.Errorf("redis: open %q: %w", url, err)
		}
		rdb, own = c, true
	}
	s := newStore(rdb, own, opts)
	s.wg.Add(2)
	go s.keep()
	go s.subscribe()

	if wait := s.opts.OpenWait; wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-s.firstUp:
		case <-s.refused:
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if !s.up.Load() {
			s.mu.Lock()
			err := s.lastErr
			s.mu.Unlock()
			if errors.Is(err, ErrRefused) {
				s.Close()
				return nil, fmt.Errorf("redis: open %q: %w", url, err)
			}
			if err == nil {
				err = fmt.Errorf("no answer within %v", wait)
			}
			s.fail(err)
		}
	}
	return s, nil
}

// newClient returns a client for url, a cluster client for the
// redis+cluster and rediss+cluster schemes, with every call bounded by its
// context and few retries: the keeper retries, without blocking anyone.
func newClient(url string) (goredis.UniversalClient, error) {
	for _, scheme := range []string{"redis", "rediss"} {
		rest, ok := strings.CutPrefix(url, scheme+"+cluster://")
		if !ok {
			continue
		}
		o, err := goredis.ParseClusterURL(scheme + "://" + rest)
		if err != nil {
			return nil, err
		}
		o.ContextTimeoutEnabled = true
		if o.DialTimeout == 0 {
			o.DialTimeout = time.Second
		}
		if o.DialerRetries == 0 {
			o.DialerRetries = 1
		}
		if o.MaxRedirects == 0 {
			o.MaxRedirects = 2
		}
		return goredis.NewClusterClient(o), nil
	}
	o, err := goredis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	o.ContextTimeoutEnabled = true
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
	return goredis.NewClient(o), nil
}

func newStore(rdb goredis.UniversalClient, own bool, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.RetryInterval <= 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.OpenWait == 0 {
		opts.OpenWait = DefaultOpenWait
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	s := &Store{
		rdb:         rdb,
		ownRDB:      own,
		opts:        opts,
		log:         opts.Logger,
		itemPrefix:  opts.Prefix + ":item:{",
		lockPrefix:  opts.Prefix + ":lock:{",
		tagsKey:     opts.Prefix + ":tags",
		channel:     opts.Prefix + ":events",
		tags:        store.NewMemory(store.MemoryOptions{}),
		firstUp:     make(chan struct{}),
		refused:     make(chan struct{}),
		down:        map[string]*nodeOutage{},
		known:       map[string]tagTimes{},
		queued:      map[string]*list.Element{},
		replaying:   map[string]int{},
		pendingTags: map[string]tagTimes{},
		wake:        make(chan struct{}, 1),
		reached:     make(chan struct{}, 1),
		stop:        make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("store", "redis", "prefix", opts.Prefix)
	_, _ = rand.Read(s.id[:])
	s.items.Store(s.newLocal())
	for i := range s.stripes {
		s.stripes[i].reading = map[string]*reading{}
		s.stripes[i].checked = map[string]checkMark{}
	}
	return s
}

func (s *Store) newLocal() *store.Memory {
	return store.NewMemory(store.MemoryOptions{MaxBytes: s.opts.LocalMaxBytes})
}

func (s *Store) itemKey(key string) string { return s.itemPrefix + key + "}" }
func (s *Store) lockKey(key string) string { return s.lockPrefix + key + "}" }

func (s *Store) stripe(key string) *stripe {
	return &s.stripes[xxhash.Sum64String(key)%nStripes]
}

// Close stops the store's goroutines, after one last attempt, bounded by
// WriteTimeout, to write what is queued. Locks still held stop being renewed
// and lapse when their lease ends. It closes the Redis client unless it
// came from Options.Client.
func (s *Store) Close() error {
	s.lifeMu.Lock()
	if s.closed {
		s.lifeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	if s.ps != nil {
		_ = s.ps.Close()
	}
	s.lifeMu.Unlock()
	s.wg.Wait()
	if s.ownRDB {
		return s.rdb.Close()
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.closed
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{
		Available:   s.up.Load(),
		Outages:     c.outages.Load(),
		RedisHits:   c.redisHits.Load(),
		RedisMisses: c.redisMisses.Load(),
		Refreshes:   c.refreshes.Load(),
		Fallbacks:   c.fallbacks.Load(),
		Queued:      c.queued.Load(),
		Dropped:     c.dropped.Load(),
		Replayed:    c.replayed.Load(),
		Pending:     s.waiting(),
		NodesDown:   int(s.nodesDown.Load()),
		NodeOutages: c.nodeOutages.Load(),
		WrittenBack: c.writtenBack.Load(),
		ClockSkew:   time.Duration(c.clockSkew.Load()),
		Resyncs:     c.resyncs.Load(),
		Messages:    c.messages.Load(),
		LockErrors:  c.lockErrors.Load(),
		LocksLost:   c.locksLost.Load(),
		Corrupt:     c.corrupt.Load(),
	}
}

// waiting returns the writes not yet in Redis: those queued and those a
// replay is writing. It reads them under mu, which every move from one to
// the other holds, so a write being replayed is never missed.
func (s *Store) waiting() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.Load() + s.nReplay.Load() + int64(s.tagsWriting)
}

// Get returns the item under key: from the local tier when it holds the
// key, without asking Redis, unless one of the item's tags was revalidated
// since it was made, in which case Redis is asked once whether another
// instance stored a newer one; else from Redis, within ReadTimeout, keeping
// the item in the local tier. When Redis is unavailable or slow, Get
// answers from the local tier alone. It fails only when ctx ends first.
func (s *Store) Get(ctx context.Context, key string) (*store.Item, bool, error) {
	if it, ok, _ := s.items.Load().Get(ctx, key); ok {
		ts, _ := s.tags.TagState(ctx, it.Tags, it.Created)
		if !ts.Stale || !s.up.Load() || s.keyDown(s.itemKey(key)) {
			return it, true, nil
		}
		return s.recheck(ctx, key, it)
	}
	if !s.up.Load() || (s.nodesDown.Load() > 0 && s.keyDown(s.itemKey(key))) {
		s.stats.fallbacks.Add(1)
		return nil, false, nil
	}
	it, err := s.read(ctx, key)
	if err != nil {
		return nil, false, err
	}
	return it, it != nil, nil
}

// recheck answers a local item whose tags were revalidated after it was
// made: another instance may have stored a newer one in Redis, which the
// message announcing it has not yet brought here.
func (s *Store) recheck(ctx context.Context, key string, it *store.Item) (*store.Item, bool, error) {
	st := s.stripe(key)
	epoch := s.tagEpoch.Load()
	st.mu.Lock()
	m, seen := st.checked[key]
	st.mu.Unlock()
	if seen && m.created.Equal(it.Created) && m.epoch == epoch {
		return it, true, nil
	}
	r, err := s.read(ctx, key)
	if err != nil {
		return it, true, nil // ctx ended: the local item is the best answer
	}
	if r != nil && r.Created.After(it.Created) {
		s.stats.refreshes.Add(1)
		return r, true, nil
	}
	st.mu.Lock()
	if len(st.checked) >= maxChecked {
		clear(st.checked)
	}
	st.checked[key] = checkMark{epoch: epoch, created: it.Created}
	st.mu.Unlock()
	return it, true, nil
}

// read returns the item Redis holds under key, or nil, and keeps it in the
// local tier. A failure of Redis is not an error: the answer is nil, as
// when Redis does not hold the key. Only the end of ctx is an error; the
// read goes on for other callers.
func (s *Store) read(ctx context.Context, key string) (*store.Item, error) {
	ch := s.reads.DoChan(key, func() (any, error) { return s.fetch(key), nil })
	select {
	case r := <-ch:
		it, _ := r.Val.(*store.Item)
		return it, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch reads key from Redis within ReadTimeout and installs the item in
// the local tier, unless the key was written or invalidated meanwhile. The
// singleflight in read makes it the only read of key in flight.
func (s *Store) fetch(key string) *store.Item {
	st := s.stripe(key)
	r := &reading{}
	st.mu.Lock()
	st.reading[key] = r
	gen0 := s.gen.Load()
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.reading, key)
		st.mu.Unlock()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), s.opts.ReadTimeout)
	b, err := s.rdb.Get(ctx, s.itemKey(key)).Bytes()
	cancel()
	if errors.Is(err, goredis.Nil) {
		s.stats.redisMisses.Add(1)
		return nil
	}
	if err != nil {
		s.stats.fallbacks.Add(1)
		s.failKey(s.itemKey(key), err)
		return nil
	}
	it, err := decodeItem(b)
	if err != nil {
		s.stats.corrupt.Add(1)
		return nil
	}
	s.stats.redisHits.Add(1)

	st.mu.Lock()
	defer st.mu.Unlock()
	if !r.installable(timeBits(it.Created)) || s.gen.Load() != gen0 {
		return it
	}
	ctx = context.Background()
	local := s.items.Load()
	if cur, ok, _ := local.Get(ctx, key); ok && !it.Created.After(cur.Created) {
		return cur // the same version, or a newer one: keep it
	}
	_ = local.Set(ctx, key, it)
	delete(st.checked, key)
	return it
}

var errNilItem = errors.New("redis: nil item")

// Set stores it under key in the local tier and in Redis, and announces it
// to the other instances, whose local tiers drop their older copy. When
// Redis is unavailable or the write does not finish within WriteTimeout,
// the write is queued and retried in the background, and Set still
// returns nil: the item is served from the local tier meanwhile.
//
// A queued write replayed later does not replace a newer item (by
// Created) that another instance stored meanwhile.
func (s *Store) Set(ctx context.Context, key string, it *store.Item) error {
	if it == nil {
		return errNilItem
	}
	st := s.stripe(key)
	st.mu.Lock()
	st.spoil(key)
	_ = s.items.Load().Set(ctx, key, it)
	st.mu.Unlock()

	ttl := s.opts.TTL
	if it.Expire > 0 {
		ttl = it.Expire
	}
	s.write(ctx, &op{key: key, val: encodeItem(it), ttl: ttl, at: timeBits(it.Created)})
	return nil
}

// Delete removes the item under key from the local tier and from Redis,
// unless Redis holds a newer item (by Created) than the one this instance
// held: a Delete never removes an item another instance stored after this
// one read its own. Like Set, it queues the Redis part when Redis is
// unavailable, and returns nil.
func (s *Store) Delete(ctx context.Context, key string) error {
	upTo := anyTime
	st := s.stripe(key)
	st.mu.Lock()
	st.spoil(key)
	local := s.items.Load()
	if it, ok, _ := local.Get(ctx, key); ok {
		upTo = timeBits(it.Created)
	}
	_ = local.Delete(ctx, key)
	st.mu.Unlock()

	s.write(ctx, &op{key: key, del: true, at: upTo})
	return nil
}

// write applies o to Redis now when Redis, and on a cluster the master
// owning o's key, is available and no write of the key is queued; else it
// queues o.
func (s *Store) write(ctx context.Context, o *op) {
	if s.up.Load() && !s.isQueued(o.key) && !s.keyDown(s.itemKey(o.key)) {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.WriteTimeout)
		_, err := s.apply(wctx, o, false)
		cancel()
		if err == nil {
			return
		}
		s.failKey(s.itemKey(o.key), err)
	}
	s.enqueue(o)
}

// isQueued reports whether a write of key waits in the queue, or is being
// replayed: a write applied now could land before it, and be overtaken by
// an older one (a Set replayed after a later Delete brings the item back).
func (s *Store) isQueued(key string) bool {
	if s.pending.Load() == 0 && s.nReplay.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.queued[key]
	return ok || s.replaying[key] > 0
}

// apply runs o's script. replay makes a Set conditional on Redis not
// holding a newer item. applied is false when Redis kept what it held.
func (s *Store) apply(ctx context.Context, o *op, replay bool) (applied bool, err error) {
	var n int64
	if o.del {
		var upTo [8]byte
		binary.BigEndian.PutUint64(upTo[:], o.at)
		msg := encodeKeyMsg(msgDelete, s.id, o.at, o.key)
		n, err = deleteScript.Run(ctx, s.rdb, []string{s.itemKey(o.key)}, upTo[:], s.channel, msg).Int64()
	} else {
		cond := "0"
		if replay {
			cond = "1"
		}
		msg := encodeKeyMsg(msgSet, s.id, o.at, o.key)
		n, err = setScript.Run(ctx, s.rdb, []string{s.itemKey(o.key)}, o.val, millis(o.ttl), cond, s.channel, msg).Int64()
	}
	return n == 1, err
}

// RevalidateTags records that tags were revalidated at time at, in mode:
// in the local tier at once, and in Redis, which announces it to the other
// instances. When Redis is unavailable the revalidation is queued and
// applied to Redis when it is back; RevalidateTags still returns nil.
func (s *Store) RevalidateTags(ctx context.Context, tags []string, mode regen.RevalidateMode, at time.Time) error {
	if len(tags) == 0 {
		return nil
	}
	_ = s.tags.RevalidateTags(ctx, tags, mode, at)
	s.tagEpoch.Add(1)
	tt := modeTimes(mode, at)
	entries := make([]tagEntry, len(tags))
	for i, t := range tags {
		entries[i] = tagEntry{tag: t, tagTimes: tt}
		s.remember(t, tt)
	}
	if s.up.Load() && s.pendingTagsEmpty() && !s.keyDown(s.tagsKey) {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.WriteTimeout)
		err := s.applyTags(wctx, entries)
		cancel()
		if err == nil {
			return nil
		}
		s.failKey(s.tagsKey, err)
	}
	s.enqueueTags(entries)
	return nil
}

// maxTagsPerCall bounds the tags written by one script call.
const maxTagsPerCall = 256

// applyTags records entries in Redis and announces them.
func (s *Store) applyTags(ctx context.Context, entries []tagEntry) error {
	for len(entries) > 0 {
		batch := entries[:min(len(entries), maxTagsPerCall)]
		entries = entries[len(batch):]
		args := make([]any, 0, 2+2*len(batch))
		args = append(args, s.channel, encodeTagsMsg(s.id, batch))
		for _, e := range batch {
			args = append(args, e.tag, e.encode())
		}
		if err := tagsScript.Run(ctx, s.rdb, []string{s.tagsKey}, args...).Err(); err != nil {
			return err
		}
	}
	return nil
}

// TagState reports whether any of tags was revalidated strictly after
// since, from the local copy of the tag times, which every revalidation on
// any instance reaches through Redis. It never asks Redis, never fails,
// and does not allocate.
func (s *Store) TagState(ctx context.Context, tags []string, since time.Time) (store.TagState, error) {
	return s.tags.TagState(ctx, tags, since)
}

// pendingTagsEmpty reports whether no tag time waits in the queue.
func (s *Store) pendingTagsEmpty() bool {
	if s.pending.Load() == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pendingTags) == 0
}

// applyTagLocal merges a tag's times into the local copy.
func (s *Store) applyTagLocal(tag string, t tagTimes) {
	s.remember(tag, t)
	ctx := context.Background()
	if t.stale != 0 {
		_ = s.tags.RevalidateTags(ctx, []string{tag}, regen.RevalidateStale, bitsTime(t.stale))
	}
	if t.expire != 0 {
		_ = s.tags.RevalidateTags(ctx, []string{tag}, regen.RevalidateExpire, bitsTime(t.expire))
	}
	if t.marked != 0 {
		marked := bitsTime(t.marked)
		_ = s.tags.RevalidateTags(ctx, []string{tag}, regen.StaleUntil(bitsTime(t.deadline).Sub(marked)), marked)
	}
}

// fail records that Redis failed: requests are served from the local tier
// until the keeper finds it available again. The start of an outage is
// logged once: as an error when Redis refuses the store's writes.
func (s *Store) fail(err error) {
	err = refused(err)
	var r *refusal
	errors.As(err, &r)
	s.up.Store(false)
	s.reachable.Store(false)
	s.poke()
	if s.isClosed() {
		return
	}
	s.mu.Lock()
	s.lastErr = err
	first := !s.degraded
	if first {
		s.degraded = true
		s.downSince = time.Now()
		s.stats.outages.Add(1)
	}
	logRefusal := r != nil && !s.refuseLogged
	if logRefusal {
		s.refuseLogged = true
	}
	s.mu.Unlock()
	if logRefusal {
		s.log.Error("regen: redis refuses the store's writes; pages are NOT shared with other instances, serving from the local tier",
			"error", err)
	} else if first && r == nil {
		s.log.Warn("regen: redis unavailable; serving from the local tier, queueing writes", "error", err)
	}
	if r != nil {
		s.refuseOnce.Do(func() { close(s.refused) })
	}
}

// recover records that Redis is available and the local tier in sync. The
// end of an outage is logged once.
func (s *Store) recover() {
	s.mu.Lock()
	if s.degraded {
		s.degraded = false
		s.dropLogged = false
		s.refuseLogged = false
		s.log.Info("regen: redis available again", "down_for", time.Since(s.downSince).Round(time.Millisecond),
			"replayed", s.stats.replayed.Load(), "dropped", s.stats.dropped.Load())
	}
	s.lastErr = nil
	s.up.Store(true)
	s.mu.Unlock()
	s.upOnce.Do(func() { close(s.firstUp) })
}

// poke wakes the keeper.
func (s *Store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// enqueue queues o after any queued write, replacing a queued write of the
// same key, and drops the oldest write beyond MaxPending.
func (s *Store) enqueue(o *op) {
	s.stats.queued.Add(1)
	s.mu.Lock()
	if e, ok := s.queued[o.key]; ok {
		s.queue.Remove(e)
		s.pending.Add(-1)
	}
	s.queued[o.key] = s.queue.PushBack(o)
	s.pending.Add(1)
	if s.queue.Len() > s.opts.MaxPending {
		old := s.queue.Remove(s.queue.Front()).(*op)
		delete(s.queued, old.key)
		s.pending.Add(-1)
		s.stats.dropped.Add(1)
		if !s.dropLogged {
			s.dropLogged = true
			s.log.Warn("regen: redis write queue full; dropping the oldest writes", "max_pending", s.opts.MaxPending)
		}
	}
	s.mu.Unlock()
	s.poke()
}

// takeOp removes and returns the oldest queued write, or nil.
func (s *Store) takeOp() *op {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.queue.Front()
	if e == nil {
		return nil
	}
	o := s.queue.Remove(e).(*op)
	delete(s.queued, o.key)
	s.pending.Add(-1)
	s.replaying[o.key]++
	s.nReplay.Add(1)
	return o
}

// replayed ends the replay of o, which takeOp returned: it was applied, or
// given up. (requeueOps ends those it puts back.)
func (s *Store) replayed(o *op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endReplay(o)
}

// endReplay is replayed with mu held.
func (s *Store) endReplay(o *op) {
	if s.replaying[o.key]--; s.replaying[o.key] <= 0 {
		delete(s.replaying, o.key)
	}
	s.nReplay.Add(-1)
}

// queueLen returns the number of queued item writes.
func (s *Store) queueLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.Len()
}

// requeueOps puts back writes held or failed by a replay, first in line and
// in their order, except those whose key was queued again meanwhile. Writes
// queued while the replay ran may leave no room for them all: the oldest
// beyond MaxPending are dropped, as enqueue drops them.
func (s *Store) requeueOps(ops []*op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(ops) - 1; i >= 0; i-- {
		o := ops[i]
		s.endReplay(o)
		if _, ok := s.queued[o.key]; ok {
			continue
		}
		s.queued[o.key] = s.queue.PushFront(o)
		s.pending.Add(1)
	}
	dropped := 0
	for s.queue.Len() > s.opts.MaxPending {
		old := s.queue.Remove(s.queue.Front()).(*op)
		delete(s.queued, old.key)
		s.pending.Add(-1)
		dropped++
	}
	if dropped > 0 {
		s.stats.dropped.Add(int64(dropped))
		if !s.dropLogged {
			s.dropLogged = true
			s.log.Warn("regen: redis write queue full; dropping the oldest writes", "max_pending", s.opts.MaxPending)
		}
	}
}

// enqueueTags merges entries into the queued tag times.
func (s *Store) enqueueTags(entries []tagEntry) {
	s.stats.queued.Add(int64(len(entries)))
	s.enqueueTagsBack(entries)
	s.poke()
}

// takeTags removes and returns up to n queued tag times.
func (s *Store) takeTags(n int) []tagEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tagEntry
	for tag, t := range s.pendingTags {
		if len(out) == n {
			break
		}
		out = append(out, tagEntry{tag: tag, tagTimes: t})
		delete(s.pendingTags, tag)
		s.pending.Add(-1)
	}
	s.tagsWriting += len(out)
	return out
}

// tagsWritten ends the writing of n tag times takeTags returned: written,
// or put back first.
func (s *Store) tagsWritten(n int) {
	s.mu.Lock()
	s.tagsWriting -= n
	s.mu.Unlock()
}

// millis formats d in whole milliseconds, rounded up; "0" for none.
func millis(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64((d+time.Millisecond-1)/time.Millisecond), 10)
}
