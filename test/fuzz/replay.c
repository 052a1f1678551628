/*
 * test/fuzz/replay.c: replays SQLsmith's queries as the application role and checks every
 * answer for another tenant's data (test/t/fuzz.sh).
 *
 *   sqlsmith --dry-run ... | replay -d CONNINFO -o DIR [-j CLIENTS] [-s SECONDS] [-e ORG] [-a]
 *
 * Reads the queries from standard input (SQLsmith's --dry-run format: each query ends with a
 * line that ends in ';'), while the generator still writes them, and runs them with CLIENTS
 * connections (threads) until the input ends or SECONDS have passed.  Each query runs in its
 * own transaction, which is rolled back: BEGIN; <query>; ROLLBACK.  The connection string
 * sets the tenant, statement_timeout and lock_timeout (fuzz.sh builds it).
 *
 * Every value of every row a query returns, every error field (message, detail, hint,
 * context) and every notice is searched for tenant B's markers (the patterns below; see
 * test/fuzz/data.sql).  After each ROLLBACK the session's tenant must be ORG again
 * (tenant_iso.current_org_id()); otherwise the session is replaced by a fresh one.
 *
 * A lost connection (a crashed backend, the postmaster's reset of every backend after a crash,
 * or pg_terminate_backend() by a fuzz query) is recorded with the query in flight and the
 * backend's pid, then the client reconnects (waiting up to 120 s for the server to recover)
 * and goes on with the next query.  fuzz.sh matches the pids with the server log.
 *
 * Output, in DIR:
 *   summary  key=value lines: generated, ran, ok, errors, lost, hits, drift, hangs, seconds,
 *            class.XX (errors per SQLSTATE class), state.XXXXX (per SQLSTATE)
 *   events   one record per finding: "@@ KIND query=N worker=W pid=P: text", then the query,
 *            then "@@ END".  KIND is HIT, LOST, DRIFT, HANG, GONE (server did not come back),
 *            INTERNAL (an error of SQLSTATE class XX; the first 50)
 *   queries  with -a: every query read, each after a line "-- query N"
 *
 * Exit status: 0 when the run completed (whatever it found; fuzz.sh decides), 2 on bad usage
 * or when the output files cannot be written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 16
#define RING 256				/* queries read ahead of the clients */
#define HANG_MS 20000			/* a query this much past its start is reported as hanging */
#define GIVE_UP_MS 90000		/* ... and the run is abandoned after this long */
#define RECONNECT_MS 120000

/* Tenant B's markers (case-insensitive substrings).  Tenant A's data never contains them, and
 * neither does any catalog the application role can read (a plain "canary" does: the time zone
 * Atlantic/Canary).  B's text, jsonb (keys and values) and array values all contain
 * "CanaryB7f3a" (one word: also a single tsvector lexeme), reversed "a3f7BYRANAC"; bytea shows it
 * as hex.  The rest are B's organization id, the ids derived from it, and the template's rows of
 * B.  Numbers: see number_marker(). */
static const char *const markers[] = {
	"canaryb", "byranac",
	"43616e61727942", "43414e41525942", "63616e61727962",	/* hex of CanaryB, CANARYB, canaryb */
	"b000000-0000-4000-8000-",		/* B's organization id, the template's ids of B's rows */
	"8000-00000000000b",			/* the fuzz tables' uuids of B (products) */
	"800000000000000b",				/* B's organization id without hyphens */
	"beta bootcamp", "beta.test",	/* the template: B's organization name, e-mails, urls */
	NULL
};

typedef struct Query
{
	long		idx;
	char	   *text;
} Query;

typedef struct Worker
{
	int			id;
	pthread_t	thread;
	int			joined;
	PGconn	   *conn;
	int			pid;
	pthread_mutex_t mu;			/* protects cur_* (read by the hang monitor) */
	long		cur_idx;		/* query in flight, -1 if none */
	const char *cur_text;
	double		cur_start;
	int			hang_reported;
	int			hit;			/* the current query showed a marker */
	char		hit_where[64];
	char		hit_excerpt[400];
	long		ran, ok, errors, lost, hits, drift;
} Worker;

static const char *conninfo;
static const char *outdir;
static const char *expect_org;
static int	nworkers = 2;
static double seconds = 60;
static int	keep_all;
static double t_start;
static volatile sig_atomic_t stop_now;

static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_nonempty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t q_space = PTHREAD_COND_INITIALIZER;
static Query ring[RING];
static long q_head, q_tail;		/* q_head: next to take; q_tail: next to fill */
static int	q_eof;
static long generated;

static pthread_mutex_t outmu = PTHREAD_MUTEX_INITIALIZER;
static FILE *events, *queries_out;

/* SQLSTATE counts */
static pthread_mutex_t statmu = PTHREAD_MUTEX_INITIALIZER;
static char states[1024][6];
static long state_count[1024];
static int	nstates;

static Worker workers[MAX_WORKERS];
static int internal_events;	/* racy counter: only limits the size of the events file */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
count_state(const char *st)
{
	int			i;

	pthread_mutex_lock(&statmu);
	for (i = 0; i < nstates; i++)
		if (strcmp(states[i], st) == 0)
			break;
	if (i == nstates && nstates < 1024)
	{
		snprintf(states[i], sizeof(states[i]), "%s", st);
		nstates++;
	}
	if (i < nstates)
		state_count[i]++;
	pthread_mutex_unlock(&statmu);
}

/* one event record, its first line flattened; text may be NULL */
static void
event(const char *kind, long idx, Worker *w, const char *text, const char *fmt,...)
{
	va_list		ap;
	char		line[1024],
			   *c;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (c = line; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	while (c > line && c[-1] == ' ')
		*--c = '\0';
	pthread_mutex_lock(&outmu);
	fprintf(events, "@@ %s query=%ld worker=%d pid=%d: %s\n", kind, idx, w ? w->id : -1, w ? w->pid : 0, line);
	if (text)
		fprintf(events, "%s;\n", text);
	fputs("@@ END\n", events);
	fflush(events);
	pthread_mutex_unlock(&outmu);
}

static int
digits_at(const char *s, const char *end, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (s + i >= end || s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* B's numbers: numeric / double 31337ddd.73 (also as 31337ddd.7300 in numeric(14,4)), int[]
 * elements -1733137ddd (data.sql), each not part of a longer number */
static const char *
number_marker(const char *s, size_t len)
{
	const char *end = s + len,
			   *p;

	for (p = s; p + 5 <= end; p++)
	{
		if (p > s && ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.'))
			continue;
		if (memcmp(p, "31337", 5) == 0 && digits_at(p + 5, end, 3) &&
			p + 11 <= end && memcmp(p + 8, ".73", 3) == 0 &&
			(p + 11 == end || p[11] < '1' || p[11] > '9'))
			return p;
		if (p + 10 <= end && memcmp(p, "1733137", 7) == 0 && digits_at(p + 7, end, 3) &&
			(p + 10 == end || p[10] < '0' || p[10] > '9'))
			return p;
	}
	return NULL;
}

static void
scan(Worker *w, const char *where, const char *s)
{
	const char *m = NULL;
	size_t		len;
	int			i;

	if (s == NULL || w->hit)
		return;
	len = strlen(s);
	for (i = 0; markers[i] && !m; i++)
		m = strcasestr(s, markers[i]);
	if (!m)
		m = number_marker(s, len);
	if (m)
	{
		const char *from = m - s > 80 ? m - 80 : s;
		size_t		n = strnlen(from, 300);

		w->hit = 1;
		snprintf(w->hit_where, sizeof(w->hit_where), "%s", where);
		snprintf(w->hit_excerpt, sizeof(w->hit_excerpt), "%.*s", (int) n, from);
		for (char *c = w->hit_excerpt; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
	}
}

static void
notice_receiver(void *arg, const PGresult *res)
{
	Worker	   *w = arg;

	scan(w, "notice", PQresultErrorMessage(res));
}

static void
scan_error(Worker *w, const PGresult *res)
{
	scan(w, "error message", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	scan(w, "error detail", PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
	scan(w, "error hint", PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
	scan(w, "error context", PQresultErrorField(res, PG_DIAG_CONTEXT));
	scan(w, "error", PQresultErrorMessage(res));
}

/* connect; after a lost connection (patient) retry while the server recovers; 0 on success */
static int
connect_worker(Worker *w, int patient)
{
	double		t0 = now_ms();
	int			limit_ms = patient ? RECONNECT_MS : 2000;

	for (;;)
	{
		if (w->conn)
			PQfinish(w->conn);
		w->conn = PQconnectdb(conninfo);
		if (PQstatus(w->conn) == CONNECTION_OK)
		{
			PQsetNoticeReceiver(w->conn, notice_receiver, w);
			w->pid = PQbackendPID(w->conn);
			return 0;
		}
		if (now_ms() - t0 > limit_ms)
		{
			event("GONE", -1, w, NULL, "cannot connect for %d s: %s", limit_ms / 1000,
				  PQerrorMessage(w->conn));
			return -1;
		}
		if (stop_now)			/* time is up: no need to wait for the server */
			return -1;
		usleep(200000);
	}
}

/* take the next query; 0 when there is none left (or time is up) */
static int
next_query(Query *q)
{
	int			got = 0;

	pthread_mutex_lock(&qmu);
	while (!stop_now && q_head == q_tail && !q_eof)
		pthread_cond_wait(&q_nonempty, &qmu);
	if (!stop_now && q_head < q_tail)
	{
		*q = ring[q_head % RING];
		ring[q_head % RING].text = NULL;
		q_head++;
		got = 1;
		pthread_cond_signal(&q_space);
	}
	pthread_mutex_unlock(&qmu);
	return got;
}

static void
set_current(Worker *w, const Query *q)
{
	pthread_mutex_lock(&w->mu);
	w->cur_idx = q ? q->idx : -1;
	w->cur_text = q ? q->text : NULL;
	w->cur_start = now_ms();
	w->hang_reported = 0;
	pthread_mutex_unlock(&w->mu);
}

/* the rows of one result: every value and column name */
static void
scan_rows(Worker *w, const PGresult *res)
{
	int			nr = PQntuples(res),
				nc = PQnfields(res),
				r,
				c;

	for (r = 0; r < nr && !w->hit; r++)
		for (c = 0; c < nc; c++)
			if (!PQgetisnull(res, r, c))
				scan(w, "result row", PQgetvalue(res, r, c));
	for (c = 0; c < nc && !w->hit; c++)
		scan(w, "column name", PQfname(res, c));
}

/*
 * Run one query in single-row mode (memory stays bounded whatever it returns), scanning every
 * row, error and notice.  Returns the SQLSTATE of its error ("00000" if none) in state; the
 * caller checks the connection.
 */
static void
exec_scan(Worker *w, const char *text, char *state, char *message, size_t msglen)
{
	PGresult   *res;

	strcpy(state, "00000");
	message[0] = '\0';
	if (!PQsendQuery(w->conn, text))
	{
		strcpy(state, "08006");
		snprintf(message, msglen, "%s", PQerrorMessage(w->conn));
		return;
	}
	PQsetSingleRowMode(w->conn);
	while ((res = PQgetResult(w->conn)) != NULL)
	{
		switch (PQresultStatus(res))
		{
			case PGRES_SINGLE_TUPLE:
			case PGRES_TUPLES_OK:
				scan_rows(w, res);
				break;
			case PGRES_COMMAND_OK:
			case PGRES_EMPTY_QUERY:
				break;
			case PGRES_COPY_OUT:
			case PGRES_COPY_BOTH:
				{
					char	   *buf;

					while (PQgetCopyData(w->conn, &buf, 0) > 0)
					{
						scan(w, "copy data", buf);
						PQfreemem(buf);
					}
				}
				break;
			case PGRES_COPY_IN:
				PQputCopyEnd(w->conn, "no COPY FROM STDIN in the fuzz run");
				break;
			default:
				{
					const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

					scan_error(w, res);
					/* the first error counts (a later one may follow a lost connection) */
					if (strcmp(state, "00000") == 0)
					{
						const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

						snprintf(state, 6, "%s", st && strlen(st) == 5 ? st :
								 PQstatus(w->conn) == CONNECTION_BAD ? "08006" : "?????");
						snprintf(message, msglen, "%s", m ? m : PQresultErrorMessage(res));
					}
				}
				break;
		}
		PQclear(res);
		if (PQstatus(w->conn) == CONNECTION_BAD)
			break;
	}
	/* a lost connection: its own message (after the query's error, if there was one) */
	if (PQstatus(w->conn) == CONNECTION_BAD && !strstr(PQerrorMessage(w->conn), message))
	{
		size_t		used = strlen(message);

		snprintf(message + used, msglen - used, "%s%s", used ? " / " : "", PQerrorMessage(w->conn));
	}
}

static void
run_query(Worker *w, Query *q)
{
	PGresult   *res;
	int			tries,
				col;
	char		state[6],
				message[1024];

	/* BEGIN: if the connection is gone (another client's query crashed the server between
	 * two of ours), reconnect and try again; the fuzz query did not run yet */
	for (tries = 0;; tries++)
	{
		res = PQexec(w->conn, "BEGIN");
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			break;
		PQclear(res);
		if (tries >= 3 || connect_worker(w, 1) != 0)
		{
			stop_now = 1;
			return;
		}
	}
	PQclear(res);

	w->hit = 0;
	set_current(w, q);
	exec_scan(w, q->text, state, message, sizeof(message));
	set_current(w, NULL);
	w->ran++;
	if (PQstatus(w->conn) == CONNECTION_BAD)
	{
		w->lost++;
		count_state("lost");
		event("LOST", q->idx, w, q->text, "%s", message);
	}
	else if (strcmp(state, "00000") == 0)
	{
		w->ok++;
		count_state(state);
	}
	else
	{
		w->errors++;
		count_state(state);
		/* internal errors (class XX) are worth a look: keep the first ones */
		if (strncmp(state, "XX", 2) == 0 && internal_events++ < 50)
			event("INTERNAL", q->idx, w, q->text, "%s: %s", state, message);
	}
	if (w->hit)
	{
		w->hits++;
		event("HIT", q->idx, w, q->text, "marker in %s: %s", w->hit_where, w->hit_excerpt);
	}
	if (PQstatus(w->conn) == CONNECTION_BAD)
	{
		if (connect_worker(w, 1) != 0)
			stop_now = 1;
		return;
	}

	/* roll back, and check that the session works for the same tenant again (a statement
	 * timeout can fire late, on a loaded machine, in the next statement: try again then) */
	for (tries = 0;; tries++)
	{
		const char *st;

		res = PQexec(w->conn, tries == 0 ? "ROLLBACK; SELECT tenant_iso.current_org_id()::text"
					 : "ROLLBACK; SELECT pg_sleep(0.05), tenant_iso.current_org_id()::text");
		if (PQstatus(w->conn) == CONNECTION_BAD)
		{
			PQclear(res);
			if (connect_worker(w, 1) != 0)
				stop_now = 1;
			return;
		}
		st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (tries >= 3 || PQresultStatus(res) == PGRES_TUPLES_OK || !st || strcmp(st, "57014") != 0)
			break;
		PQclear(res);
	}
	/* the tenant is the last column */
	col = PQnfields(res) - 1;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		(!expect_org || strcmp(PQgetisnull(res, 0, col) ? "NULL" : PQgetvalue(res, 0, col), expect_org) == 0))
	{
		PQclear(res);
		return;
	}
	w->drift++;
	event("DRIFT", q->idx, w, q->text, "after ROLLBACK the session's tenant is %s, not %s",
		  PQresultStatus(res) != PGRES_TUPLES_OK ? PQresultErrorMessage(res) :
		  PQntuples(res) != 1 ? "(no row)" :
		  PQgetisnull(res, 0, col) ? "NULL" : PQgetvalue(res, 0, col),
		  expect_org ? expect_org : "?");
	PQclear(res);
	/* go on in a fresh session */
	if (connect_worker(w, 1) != 0)
		stop_now = 1;
}

static void *
worker_main(void *arg)
{
	Worker	   *w = arg;
	Query		q;

	if (connect_worker(w, 0) != 0)
	{
		stop_now = 1;
		return NULL;
	}
	while (!stop_now && next_query(&q))
	{
		run_query(w, &q);
		free(q.text);
	}
	PQfinish(w->conn);
	w->conn = NULL;
	return NULL;
}

/* split standard input into queries: a query ends with a line whose last character is ';' */
static void *
reader_main(void *arg)
{
	char	   *line = NULL,
			   *buf = NULL;
	size_t		cap = 0,
				bufcap = 0,
				buflen = 0;
	ssize_t		n;

	(void) arg;
	while (!stop_now && (n = getline(&line, &cap, stdin)) > 0)
	{
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (buflen + n + 2 > bufcap)
		{
			bufcap = (buflen + n + 2) * 2;
			buf = realloc(buf, bufcap);
		}
		if (buflen > 0)
			buf[buflen++] = '\n';
		memcpy(buf + buflen, line, n);
		buflen += n;
		buf[buflen] = '\0';
		if (n > 0 && line[n - 1] == ';')
		{
			Query		q;

			buf[--buflen] = '\0';	/* the ';' */
			q.idx = generated + 1;
			q.text = strdup(buf);
			buflen = 0;
			if (queries_out)
			{
				pthread_mutex_lock(&outmu);
				fprintf(queries_out, "-- query %ld\n%s;\n", q.idx, q.text);
				pthread_mutex_unlock(&outmu);
			}
			pthread_mutex_lock(&qmu);
			while (!stop_now && q_tail - q_head >= RING)
				pthread_cond_wait(&q_space, &qmu);
			if (stop_now)
			{
				free(q.text);
				pthread_mutex_unlock(&qmu);
				break;
			}
			ring[q_tail % RING] = q;
			q_tail++;
			generated++;
			pthread_cond_signal(&q_nonempty);
			pthread_mutex_unlock(&qmu);
		}
	}
	pthread_mutex_lock(&qmu);
	q_eof = 1;
	pthread_cond_broadcast(&q_nonempty);
	pthread_mutex_unlock(&qmu);
	free(line);
	free(buf);
	return NULL;
}

static FILE *
open_out(const char *name)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "w");
	if (!f)
	{
		fprintf(stderr, "replay: cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return f;
}

static void
usage(void)
{
	fprintf(stderr, "usage: replay -d conninfo -o outdir [-j clients] [-s seconds] [-e org] [-a] < queries\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	pthread_t	reader;
	int			opt,
				i,
				gave_up = 0;
	long		ran = 0,
				ok = 0,
				errors = 0,
				lost = 0,
				hits = 0,
				drift = 0,
				hangs = 0;
	FILE	   *summary;
	double		elapsed;

	while ((opt = getopt(argc, argv, "d:o:j:s:e:a")) != -1)
	{
		switch (opt)
		{
			case 'd': conninfo = optarg; break;
			case 'o': outdir = optarg; break;
			case 'j': nworkers = atoi(optarg); break;
			case 's': seconds = atof(optarg); break;
			case 'e': expect_org = optarg; break;
			case 'a': keep_all = 1; break;
			default: usage();
		}
	}
	if (!conninfo || !outdir || nworkers < 1 || nworkers > MAX_WORKERS || seconds <= 0)
		usage();
	signal(SIGPIPE, SIG_IGN);
	events = open_out("events");
	if (keep_all)
		queries_out = open_out("queries");

	t_start = now_ms();
	pthread_create(&reader, NULL, reader_main, NULL);
	for (i = 0; i < nworkers; i++)
	{
		workers[i].id = i;
		workers[i].cur_idx = -1;
		pthread_mutex_init(&workers[i].mu, NULL);
		pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
	}

	/* the monitor: time limit, hanging queries */
	for (;;)
	{
		int			busy = 0;
		double		t = now_ms();

		pthread_mutex_lock(&qmu);
		busy = !(q_eof && q_head == q_tail);
		pthread_mutex_unlock(&qmu);
		for (i = 0; i < nworkers; i++)
		{
			Worker	   *w = &workers[i];

			pthread_mutex_lock(&w->mu);
			if (w->cur_idx >= 0)
			{
				busy = 1;
				if (!w->hang_reported && t - w->cur_start > HANG_MS)
				{
					PGcancel   *c = w->conn ? PQgetCancel(w->conn) : NULL;
					char		err[256];

					w->hang_reported = 1;
					hangs++;
					event("HANG", w->cur_idx, w, w->cur_text, "still running after %d s; cancel sent",
						  HANG_MS / 1000);
					if (c)
					{
						PQcancel(c, err, sizeof(err));
						PQfreeCancel(c);
					}
				}
				if (t - w->cur_start > GIVE_UP_MS)
					gave_up = 1;
			}
			pthread_mutex_unlock(&w->mu);
		}
		if (gave_up)
			break;
		if (t - t_start > seconds * 1000)
			stop_now = 1;
		if (stop_now)
			break;
		/* all workers done (input exhausted and nothing in flight) */
		{
			int			alive = 0;

			for (i = 0; i < nworkers; i++)
				if (!workers[i].joined)
				{
					if (pthread_tryjoin_np(workers[i].thread, NULL) == 0)
						workers[i].joined = 1;
					else
						alive++;
				}
			if (!alive)
				break;
		}
		(void) busy;
		usleep(50000);
	}
	stop_now = 1;
	pthread_mutex_lock(&qmu);
	pthread_cond_broadcast(&q_nonempty);
	pthread_cond_broadcast(&q_space);
	pthread_mutex_unlock(&qmu);
	if (!gave_up)
	{
		/* workers finish the query they run (bounded by statement_timeout) */
		for (i = 0; i < nworkers; i++)
			if (!workers[i].joined)
				pthread_join(workers[i].thread, NULL);
	}
	elapsed = (now_ms() - t_start) / 1000.0;
	/* the reader may be blocked in read(): do not wait for it */

	for (i = 0; i < nworkers; i++)
	{
		ran += workers[i].ran;
		ok += workers[i].ok;
		errors += workers[i].errors;
		lost += workers[i].lost;
		hits += workers[i].hits;
		drift += workers[i].drift;
	}
	summary = open_out("summary");
	pthread_mutex_lock(&qmu);
	fprintf(summary, "generated=%ld\n", generated);
	pthread_mutex_unlock(&qmu);
	fprintf(summary, "ran=%ld\nok=%ld\nerrors=%ld\nlost=%ld\nhits=%ld\ndrift=%ld\nhangs=%ld\ngave_up=%d\nseconds=%.1f\n",
			ran, ok, errors, lost, hits, drift, hangs, gave_up, elapsed);
	pthread_mutex_lock(&statmu);
	{
		/* per class, then per SQLSTATE */
		char		classes[1024][3];
		long		class_count[1024];
		int			nclasses = 0,
					j;

		for (i = 0; i < nstates; i++)
		{
			if (strcmp(states[i], "00000") == 0 || strcmp(states[i], "lost") == 0)
				continue;
			for (j = 0; j < nclasses; j++)
				if (strncmp(classes[j], states[i], 2) == 0)
					break;
			if (j == nclasses)
			{
				snprintf(classes[j], 3, "%.2s", states[i]);
				class_count[j] = 0;
				nclasses++;
			}
			class_count[j] += state_count[i];
		}
		for (j = 0; j < nclasses; j++)
			fprintf(summary, "class.%s=%ld\n", classes[j], class_count[j]);
		for (i = 0; i < nstates; i++)
			fprintf(summary, "state.%s=%ld\n", states[i], state_count[i]);
	}
	pthread_mutex_unlock(&statmu);
	fclose(summary);
	pthread_mutex_lock(&outmu);
	fclose(events);
	if (queries_out)
		fclose(queries_out);
	/* exit without waiting for a reader blocked on the generator or a worker stuck in a query */
	_exit(0);
}
