// Package redis is a store.Store shared by many engines through Redis, with a local in-memory tier in front.
//
// Open a Store and give it to every instance's engine:
//
//	s, err := redis.Open(ctx, "redis://127.0.0.1:6379/0", redis.Options{})
//	if err != nil {
//		return err // a malformed URL, or a Redis refusing writes; one that is down does not
//	}
//	defer s.Close() // after the engine's Close
//	e, err := engine.New(site, engine.Options{Store: s})
//
// A page rendered on one instance is then a HIT on the others, a
// revalidation on one reaches all, and a path is rendered by one instance
// at a time: Store is also a store.Locker.
//
// # Two tiers
//
// Each Store keeps a store.Memory in front of Redis (read-through and
// write-through), bounded by Options.LocalMaxBytes, and a local copy of
// every tag revalidation time. A hit in the local tier does not touch Redis:
// it costs what a store.Memory hit costs, without allocating, and TagState
// always answers from the local copy. A local miss reads Redis (one GET per
// key at a time, bounded by Options.ReadTimeout) and keeps what it read.
// Set, Delete and RevalidateTags write the local tier, then Redis.
//
// # Keys
//
// With the default prefix "regen":
//
//	regen:item:{<key>}   an item (a rendered path or a Data Cache entry), a string
//	regen:lock:{<key>}   a lock taken by TryLock: a random token, with the lease as TTL
//	regen:tags           every tag's latest revalidation times, a hash: tag → 16 or 32 bytes,
//	                     and its epoch under the field "\x00epoch"
//	regen:events         the channel announcing changes to the other instances
//
// Every command and every script touches exactly one key, so no two keys
// need to share a Redis Cluster slot: items are read by themselves, and
// tag times are never read with them (each instance holds a copy). Item
// and lock keys wrap the key in braces, so that their slot is picked by the
// key itself, not by braces a key may contain; items spread over the
// cluster while the tag hash lives on one node. A prefix holding braces
// ("{site}") puts every key in one slot instead.
//
// An item with an Expire is kept by Redis for that long; one without is
// kept for Options.TTL, or until replaced, deleted or evicted. If Redis
// evicts keys (maxmemory), prefer a volatile-* policy with a TTL for items:
// losing the tag hash would make stale items look fresh to a new instance
// until the running instances write it back (see Redis Cluster below).
//
// # Redis Cluster
//
// Open a cluster with a redis+cluster:// URL naming one or more masters:
//
//	redis+cluster://10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379
//
// A cluster node opened with a redis:// URL is refused at Open
// (ErrRefused), as is any Redis that answers but refuses the store's writes:
// a single-node client there would write nothing (MOVED) while serving
// unshared pages. Configure the cluster with cluster-require-full-coverage
// no, so that a dead master stops only its own slots.
//
//   - A dead master affects only the keys it owns: a command that fails on
//     a master marks that master failing (Stats.NodesDown); its keys are
//     served from the local tier and their writes queued, while the other
//     masters' keys are read and written as usual. The keeper asks every
//     master, by itself, whether it serves its slots (CLUSTER INFO) each
//     second, and each RetryInterval while one is failing; a master is
//     never marked up or down by another's answer, so availability does
//     not flap.
//   - The subscription runs on a master other than the tag hash's when
//     there is one (messages reach every node). When its master dies the
//     instance subscribes on another and reloads the tag times, serving
//     from its local tier meanwhile, typically for milliseconds.
//   - Tag times are never lost while an instance that knew them runs.
//     Each instance keeps every tag time it has seen. The tag hash holds a
//     random epoch, set by the first instance to find it missing; an
//     instance that finds another epoch than the last it saw (the master
//     restarted empty, or the hash was evicted) writes back every tag time
//     it knows, and each reload of the tag hash writes back those it lacks.
//     The script keeps the later time of each tag and announces only what
//     moved forward. A new instance started before the write-back may serve
//     a revalidated page as a HIT until it completes, within a second of
//     the master answering again (Stats.WrittenBack counts the times
//     written back).
//
// # Clocks
//
// Items' Created and revalidation times come from each instance's clock
// (the engine's Options.Now) and are compared across instances: a
// revalidation made on an instance whose clock is d behind another's does
// not mark stale what that other rendered in the d before it. At each
// connection the Store measures how far Redis's clock (TIME) is from its
// own (Stats.ClockSkew) and logs a warning above 500ms. Keep instances'
// clocks in sync (NTP): instances within ±d of Redis agree within 2d.
//
// # Encoding
//
// An item is one binary value: a version byte (1), its Created in unix
// nanoseconds with the sign bit flipped (so that bytewise order is time
// order, which scripts compare without floating point), its Revalidate and
// Expire (8 bytes each), its Status (2 bytes), all big-endian, then its
// header and tags as uvarint-counted, uvarint-length-prefixed strings, then
// the body, unchanged, to the end. A value with another version byte reads
// as absent. A tag's times are 16 bytes: the latest stale-mode and
// expire-mode revalidations, encoded as Created is; zero means never. A tag
// revalidated by a cache profile (regen.RevalidateProfile) has 16 more:
// that revalidation's time and its deadline, when it expires what was made
// before it. Earlier versions read the first 16 bytes of a tag only when
// they are all there is, and skip the tags messages ('U') that carry 32.
//
// # Consistency
//
// Redis is the source of truth; the local tiers follow it through
// messages on the channel, and Created orders versions of an item:
//
//   - RevalidateTags records the times in the tag hash (keeping the later
//     of old and new, per tag and mode) and publishes them in the same
//     script; every instance merges them into its copy. So a revalidation
//     on any instance makes every instance's entries stale at once, in O(1).
//   - Set stores the item and publishes its key and Created; an instance
//     whose local copy has another Created drops it, and its next read
//     fetches the new one. Delete publishes likewise.
//   - A local item whose tags were revalidated after it was made is
//     checked against Redis once before being served: if another instance
//     stored a newer version, that one is served. So after RevalidateTag on
//     one instance, every instance serves the new content after at most one
//     stale response, and the regeneration runs on one instance only,
//     whether or not its message has arrived.
//   - Pub/sub loses messages while a subscriber is disconnected. Each time
//     the subscription starts (at Open and after every reconnection), the
//     Store reloads every tag time from Redis and drops its local items, and
//     it is not marked available, nor does it read Redis, before that is
//     done. A missed message is so caught on reconnection.
//   - A read from Redis that races a newer write of the same key, local or
//     announced, returns what it read but does not keep it locally.
//
// A local hit whose tags are fresh is served without asking Redis: a Set on
// another instance (say, after the path's revalidate interval passed)
// reaches this one when its message arrives, typically well under a
// millisecond later.
//
// # Locks
//
// TryLock takes regen:lock:{<key>} with SET NX PX and a random token,
// renews the lease every third of it while held, and releases it with a
// script that deletes the key only if it still holds the caller's token. A
// holder that crashes loses the lock when its lease ends.
//
// # Faults
//
// A Redis that is down, slow or failing never fails or hangs a request (on
// a cluster, what follows applies to each master and its keys):
//
//   - Reads give up after ReadTimeout (default 50ms) and answer from the
//     local tier. The first failure marks the Store unavailable: from then
//     on requests do not wait on Redis at all, and a background keeper
//     probes it every RetryInterval.
//   - Writes that fail or time out (WriteTimeout, default 250ms), and all
//     writes while Redis is unavailable, are queued, one per key, at most
//     MaxPending (the oldest is dropped beyond, and counted in
//     Stats.Dropped: pages and data entries only, each costing one more
//     render or fetch on an instance that misses it), and replayed
//     in order when Redis answers again. A replayed Set does not replace a
//     newer item another instance stored meanwhile, nor a replayed Delete
//     remove one.
//   - Revalidations are applied to the local tier at once and queued for
//     Redis, merged per tag (a tag's time only moves forward, so merging
//     gives what replaying them one by one would); they are never dropped,
//     and are replayed before the item writes.
//   - TryLock returns an error wrapping store.ErrUnavailable at once: the
//     engine then renders without the lock.
//   - Open does not fail when Redis is down: it waits up to OpenWait
//     (default 2s) and returns a Store that serves from its local tier and
//     connects in the background.
//
// The start of an outage is logged once (slog, warning) and its end once
// (info), with how long it lasted and how much was replayed; Stats counts
// outages, fallbacks, queued, dropped and replayed writes, and more. When
// Redis is back the Store replays the queue, reloads the tag times if the
// subscription was lost, and only then reads Redis again.
package redis
