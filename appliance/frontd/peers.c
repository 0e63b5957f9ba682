/*
 * appliance/frontd/peers.c: connections per remote address, so that one address
 * cannot take every slot (front.max_per_address). A chained hash of the addresses
 * that have at least one connection open; an entry goes when its last one closes.
 * IPv4-mapped IPv6 addresses count as the IPv4 address.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "appliance/frontd/frontd.h"

#define NBUCKETS 4096

struct peer_entry {
	struct peer p; /* first: handed out */
	struct peer_entry *next;
	uint8_t key[17]; /* family byte + 16 address bytes */
	unsigned bucket;
};

static struct peer_entry *buckets[NBUCKETS];
static unsigned npeers;

static void key_of(const struct sockaddr_storage *ss, uint8_t key[17])
{
	memset(key, 0, 17);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		key[0] = 4;
		memcpy(key + 1, &s4->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, &s6->sin6_addr, 16);
		}
	}
}

static unsigned hash_of(const uint8_t key[17])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (int i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % NBUCKETS;
}

struct peer *peer_get(const struct sockaddr_storage *ss)
{
	uint8_t key[17];
	unsigned b;
	struct peer_entry *e;

	key_of(ss, key);
	b = hash_of(key);
	for (e = buckets[b]; e != NULL; e = e->next)
		if (memcmp(e->key, key, sizeof(key)) == 0)
			return &e->p;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	memcpy(e->key, key, sizeof(key));
	e->bucket = b;
	e->next = buckets[b];
	buckets[b] = e;
	npeers++;
	return &e->p;
}

void peer_release(struct peer *p)
{
	struct peer_entry *e = (struct peer_entry *)(void *)p, **pp;

	if (p == NULL || p->sessions != 0 || p->refusing != 0)
		return;
	for (pp = &buckets[e->bucket]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			npeers--;
			free(e);
			return;
		}
	}
}

unsigned peer_count(void)
{
	return npeers;
}
