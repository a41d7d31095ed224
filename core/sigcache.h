/*
 * sigcache.h: verified ECDSA signatures, and a thread that verifies the
 * signatures of a batch ahead of the loop thread.
 *
 * A signature check (libsecp256k1: pubkey decompression + verify, ~30 us)
 * is the largest cost of a transaction's full verification, and it
 * depends on nothing the ledger holds: only the public key, the signature
 * and the signed message (the transaction's sighash), all in the
 * transaction's own bytes.  So when a batch of vertices arrives, a worker
 * thread decodes it and checks the signatures of its standard P2PKH
 * inputs (push signature, push 33-byte public key) while the loop thread
 * stores the vertices before them; each signature that verifies is
 * remembered here, and the script interpreter's OP_CHECKSIG
 * (core/script.c) takes a remembered (public key, signature, message)
 * triple as verified instead of checking it again.  A triple is
 * remembered only after hn_ecdsa_verify_sha256() returned true for the
 * same bytes, so the answer is the one the interpreter would compute; a
 * triple not remembered (the worker is behind, the input is not P2PKH,
 * the entry was overwritten) is checked as before.
 *
 * The cache is process-wide (a memo of a pure function, whatever the
 * ledger), bounded (HN_SIGCACHE_SIZE entries, direct-mapped, an entry is
 * dropped when it is used), and safe from any thread.
 */
#ifndef HN_CORE_SIGCACHE_H
#define HN_CORE_SIGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodesvc.h"

#define HN_SIGCACHE_SIZE 8192

/* Remembers that @sig by @pubkey over sha256(@msg) verified. */
void hn_sigcache_add(const uint8_t *pubkey, size_t pubkey_len,
		     const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		     size_t msg_len);
/* True (and forgets it) if the triple was remembered. */
bool hn_sigcache_take(const uint8_t *pubkey, size_t pubkey_len,
		      const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		      size_t msg_len);

struct hn_sigcache_stats {
	uint64_t checked;       /* signatures the worker checked */
	uint64_t added;         /* verified by the worker and remembered */
	uint64_t hits;          /* taken by OP_CHECKSIG */
	uint64_t misses;        /* OP_CHECKSIG found nothing */
	uint64_t skipped;       /* worker: vertices the loop thread passed */
};
void hn_sigcache_stats(struct hn_sigcache_stats *out);

/* --- the worker ---------------------------------------------------------- */

struct hn_sigpre;

/* Starts the worker thread; NULL if it cannot (callers go on without). */
struct hn_sigpre *hn_sigpre_start(void);
/* Stops and joins it, dropping the queued work. */
void hn_sigpre_stop(struct hn_sigpre *p);
/* Queues the @n vertices of @v (copied) for signature checks.  Returns a
 * ticket for hn_sigpre_progress(), or 0 if nothing was queued. */
uint64_t hn_sigpre_submit(struct hn_sigpre *p, const struct hn_buf *v,
			  size_t n);
/* The loop thread has handled the first @done vertices of @ticket's
 * batch: the worker skips them. */
void hn_sigpre_progress(struct hn_sigpre *p, uint64_t ticket, size_t done);

#endif /* HN_CORE_SIGCACHE_H */
