/*
 * appliance/signerd/replay.h: the signer's replay cache of certificate proofs.
 * A bounded set of 32-byte keys (SHA-256 of a proof's signature bytes): a BEGIN
 * whose SIGNED_DATA, SHA2_SIGNED_DATA or SUDI signature was seen before is a
 * replay. When full, the oldest key makes room (FIFO). Thread-safe; pure (no
 * I/O): tested alone in tests/unit/test_signerd_replay.c.
 */
#ifndef CAPF_SIGNERD_REPLAY_H
#define CAPF_SIGNERD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define SIGNERD_REPLAY_KEY_LEN 32

struct signerd_replay;

/* A cache of at most cap keys (cap >= 1); NULL when out of memory. */
struct signerd_replay *signerd_replay_new(size_t cap);
void signerd_replay_free(struct signerd_replay *r);

/* Atomically: 1 when any of the first ncheck keys is in the cache (nothing
 * added), else adds every one of the n keys (those already held stay as they
 * are) and returns 0. */
int signerd_replay_check_add(struct signerd_replay *r, const uint8_t (*keys)[SIGNERD_REPLAY_KEY_LEN],
			     size_t ncheck, size_t n);
/* Takes keys out again (the session they opened could not be kept). */
void signerd_replay_remove(struct signerd_replay *r, const uint8_t (*keys)[SIGNERD_REPLAY_KEY_LEN], size_t n);
/* Is key held? */
int signerd_replay_seen(struct signerd_replay *r, const uint8_t (*key)[SIGNERD_REPLAY_KEY_LEN]);
/* Keys held now. */
size_t signerd_replay_count(struct signerd_replay *r);

#endif
