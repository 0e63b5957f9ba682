/*
 * appliance/signerd/replay.c: the replay cache (see replay.h). A ring of cap
 * slots in insertion order (the oldest is overwritten when full) and an open
 * hash of chains over slot indexes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/signerd/replay.h"

#define NIL UINT32_MAX

struct slot {
	uint8_t key[SIGNERD_REPLAY_KEY_LEN];
	uint32_t next; /* chain in its bucket */
	int used;
};

struct signerd_replay {
	pthread_mutex_t lock;
	struct slot *slots;
	uint32_t *bucket;
	size_t cap, nbuckets, head, count; /* head: the slot written next */
};

struct signerd_replay *signerd_replay_new(size_t cap)
{
	struct signerd_replay *r;

	if (cap == 0 || cap > (size_t)UINT32_MAX / 4 || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cap = cap;
	for (r->nbuckets = 16; r->nbuckets < cap; r->nbuckets <<= 1)
		;
	r->slots = calloc(cap, sizeof(*r->slots));
	r->bucket = malloc(r->nbuckets * sizeof(*r->bucket));
	if (r->slots == NULL || r->bucket == NULL) {
		free(r->slots);
		free(r->bucket);
		free(r);
		return NULL;
	}
	for (size_t i = 0; i < r->nbuckets; i++)
		r->bucket[i] = NIL;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void signerd_replay_free(struct signerd_replay *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->slots);
	free(r->bucket);
	free(r);
}

static size_t bucket_of(const struct signerd_replay *r, const uint8_t *k)
{
	uint64_t h;

	/* the keys are SHA-256 outputs: their bytes are already uniform */
	memcpy(&h, k, sizeof(h));
	return (size_t)(h & (r->nbuckets - 1));
}

/* The slot holding k, or NIL; *prevp: the link that points to it. */
static uint32_t find(struct signerd_replay *r, const uint8_t *k, uint32_t **prevp)
{
	uint32_t *pp = &r->bucket[bucket_of(r, k)];

	while (*pp != NIL) {
		if (memcmp(r->slots[*pp].key, k, SIGNERD_REPLAY_KEY_LEN) == 0) {
			if (prevp != NULL)
				*prevp = pp;
			return *pp;
		}
		pp = &r->slots[*pp].next;
	}
	return NIL;
}

static void unlink_slot(struct signerd_replay *r, uint32_t i)
{
	uint32_t *pp = NULL;

	if (r->slots[i].used && find(r, r->slots[i].key, &pp) == i && pp != NULL) {
		*pp = r->slots[i].next;
		r->slots[i].used = 0;
		r->count--;
	}
}

int signerd_replay_check_add(struct signerd_replay *r, const uint8_t (*keys)[SIGNERD_REPLAY_KEY_LEN],
			     size_t ncheck, size_t n)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < ncheck && i < n; i++)
		if (find(r, keys[i], NULL) != NIL) {
			pthread_mutex_unlock(&r->lock);
			return 1;
		}
	for (size_t i = 0; i < n; i++) {
		uint32_t s = (uint32_t)r->head;
		size_t b;

		if (find(r, keys[i], NULL) != NIL)
			continue; /* held already (not checked), or twice in one request */
		unlink_slot(r, s);
		memcpy(r->slots[s].key, keys[i], SIGNERD_REPLAY_KEY_LEN);
		b = bucket_of(r, keys[i]);
		r->slots[s].next = r->bucket[b];
		r->slots[s].used = 1;
		r->bucket[b] = s;
		r->count++;
		r->head = (r->head + 1) % r->cap;
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

void signerd_replay_remove(struct signerd_replay *r, const uint8_t (*keys)[SIGNERD_REPLAY_KEY_LEN], size_t n)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < n; i++) {
		uint32_t s = find(r, keys[i], NULL);

		if (s != NIL)
			unlink_slot(r, s);
	}
	pthread_mutex_unlock(&r->lock);
}

int signerd_replay_seen(struct signerd_replay *r, const uint8_t (*key)[SIGNERD_REPLAY_KEY_LEN])
{
	int seen;

	pthread_mutex_lock(&r->lock);
	seen = find(r, key[0], NULL) != NIL;
	pthread_mutex_unlock(&r->lock);
	return seen;
}

size_t signerd_replay_count(struct signerd_replay *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}
