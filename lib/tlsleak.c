/* tlsleak.c - see tlsleak.h.  All state is per thread: librelp creates,
 * uses and destroys a connection's session on one thread. */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "tlsleak.h"

/* Exported with GnuTLS's names and signatures: the interposition. */
int gnutls_init(gnutls_session_t *session, unsigned int flags);
void gnutls_deinit(gnutls_session_t session);

typedef int init_fn(gnutls_session_t *, unsigned int);
typedef void deinit_fn(gnutls_session_t);

#define TRACK_MAX 8               /* a connect makes one session and one credential */

static pthread_once_t resolved = PTHREAD_ONCE_INIT;
static init_fn *real_init;
static deinit_fn *real_deinit;

static __thread gnutls_session_t last_session;    /* newest live session of this thread */
static __thread gnutls_session_t zombie;          /* leaked by a failed accept, to free */
static __thread bool tracking;
static __thread gnutls_session_t trk_sess[TRACK_MAX];
static __thread gnutls_certificate_credentials_t trk_cred[TRACK_MAX];
static __thread int ntrk_sess, ntrk_cred;

static void resolve(void)
{
	real_init = (init_fn *)hvt_tls_real_sym("gnutls_init", (void *)gnutls_init);
	real_deinit = (deinit_fn *)hvt_tls_real_sym("gnutls_deinit", (void *)gnutls_deinit);
}

static void drop_ptr(void **v, int *n, const void *p)
{
	for (int i = 0; i < *n; i++)
		if (v[i] == p) {
			v[i] = v[--*n];
			return;
		}
}

int gnutls_init(gnutls_session_t *session, unsigned int flags)
{
	pthread_once(&resolved, resolve);
	if (zombie) {                 /* librelp is done with it by now */
		gnutls_session_t z = zombie;
		zombie = NULL;
		real_deinit(z);
	}
	int rc = real_init(session, flags);
	if (rc == GNUTLS_E_SUCCESS) {
		last_session = *session;
		if (tracking && ntrk_sess < TRACK_MAX)
			trk_sess[ntrk_sess++] = *session;
	}
	return rc;
}

void gnutls_deinit(gnutls_session_t session)
{
	pthread_once(&resolved, resolve);
	if (session == last_session)
		last_session = NULL;
	if (session == zombie)
		zombie = NULL;
	drop_ptr((void **)trk_sess, &ntrk_sess, session);
	real_deinit(session);
}

void hvt_tls_reclaim_failed_accept(void)
{
	if (!last_session)
		return;
	if (zombie && real_deinit)
		real_deinit(zombie);
	zombie = last_session;
	last_session = NULL;
}

void hvt_tls_reclaim_flush(void)
{
	if (zombie && real_deinit) {
		gnutls_session_t z = zombie;
		zombie = NULL;
		real_deinit(z);
	}
}

void hvt_tls_track_begin(void)
{
	tracking = true;
	ntrk_sess = ntrk_cred = 0;
}

void hvt_tls_track_end(void)
{
	tracking = false;
}

void hvt_tls_reclaim_tracked(void)
{
	tracking = false;
	while (ntrk_sess > 0)
		gnutls_deinit(trk_sess[--ntrk_sess]);
	while (ntrk_cred > 0)
		gnutls_certificate_free_credentials(trk_cred[--ntrk_cred]);
}

void hvt_tls_leak_note_cred(gnutls_certificate_credentials_t cred)
{
	if (tracking && ntrk_cred < TRACK_MAX)
		trk_cred[ntrk_cred++] = cred;
}

void hvt_tls_leak_forget_cred(gnutls_certificate_credentials_t cred)
{
	drop_ptr((void **)trk_cred, &ntrk_cred, cred);
}
