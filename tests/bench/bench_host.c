/*
 * bench_host.c: the syncing node in host mode, as the core runs it: the
 * real ledger, core/ipc (node.ipc, events.ipc) and core/sup supervising
 * hathor-p2p-host, which loads plugins/p2p_sync_v2.so and reaches the
 * ledger only over IPC.  hathor-node's daemon table has no supervisor
 * module yet, so this process wires the same three pieces itself:
 *
 *   hn-bench --host-core DATADIR HOSTBIN PLUGIN PEER VERTICES TIMEOUT OUT
 *            [reload]
 *
 * With "reload", once half of the vertices are stored it reloads the
 * plugin (hn_sup_reload with the same .so, as `hathor-admin plugin reload
 * p2p` does) and records the time to the verdict and until the new host
 * reports a READY peer again (heartbeat on p2p.ipc every tick).
 *
 * It also serves the /v1a/ API (core/http.c, on the same loop as the
 * ledger and the IPC, as in the daemon) on 127.0.0.1 with a free port,
 * which it writes to DATADIR/http.port for the parent's HTTP client; it
 * creates DATADIR/sync.done when the sync is complete (client: stop).
 *
 * It syncs from PEER (HOST:PORT) until the ledger holds VERTICES vertices
 * (genesis included) with an empty mempool, then writes OUT (JSON: sync
 * seconds from the supervisor's start, time to the host's hello, own CPU
 * and peak RSS, the host's CPU and peak RSS read from /proc before it is
 * stopped, node.ipc calls) and exits 0; 1 on timeout or failure.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "config.h"
#include "daemon.h"
#include "hn/err.h"
#include "hn/log.h"
#include "hn/network.h"
#include "http.h"
#include "ipc.h"
#include "ledger.h"
#include "loopmon.h"
#include "sup.h"

static struct {
	struct ev_loop *loop;
	struct hn_ledger *l;
	struct hn_sup *sup;
	struct hn_ipc *ipc;
	uint64_t want;
	double t0, t_up, t_done, deadline;
	bool done, failed;
	double host_cpu, host_hwm_mb;
	pid_t host_pid;
	char done_file[700];
	/* Reload mid-sync. */
	bool reload, reload_sent, reload_done, hb_pending;
	int reload_rc;
	double t_reload, t_verdict, t_ready;
	/* Loop stalls: gaps between callbacks of a 2 ms repeating timer
	 * (a blocked loop shows as one long gap). */
	double t_last, stall_max, stall_sum, main_cpu;
	unsigned long n_iter, n_stall20, n_stall100;
	/* The same loop stretch histogram as hathor-node's (core/loopmon.c),
	 * until the sync is done. */
	struct hn_loopmon lm;
} H;

static void probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	double now = bench_now(), d;

	if (H.t_last && !H.done) {
		d = now - H.t_last - 0.002;
		H.n_iter++;
		if (d > 0.020) {
			H.n_stall20++;
			H.stall_sum += d;
		}
		if (d > H.stall_max)
			H.stall_max = d;
		if (d > 0.100)
			H.n_stall100++;
	}
	H.t_last = now;
}

/* utime + stime of @pid (s) and its VmHWM (MB); false if unreadable. */
bool bench_proc_usage(pid_t pid, double *cpu, double *hwm_mb)
{
	char p[64], buf[2048], *s;
	unsigned long ut = 0, st = 0;
	FILE *f;
	int i;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return false;
	}
	fclose(f);
	s = strrchr(buf, ')');
	/* fields after the comm: state is field 3; utime 14, stime 15 */
	for (i = 3; s && i <= 13; i++)
		s = strchr(s + 1, ' ');
	if (!s || sscanf(s + 1, "%lu %lu", &ut, &st) != 2)
		return false;
	*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	*hwm_mb = 0;
	while (f && fgets(buf, sizeof(buf), f))
		if (strncmp(buf, "VmHWM:", 6) == 0)
			*hwm_mb = atof(buf + 6) / 1024.0;
	if (f)
		fclose(f);
	return true;
}

static double main_thread_cpu(void);

static void reload_cb(void *arg, int rc, const char *msg,
		      struct json_object *info)
{
	H.t_verdict = bench_now();
	H.reload_rc = rc;
	H.reload_done = true;
	if (rc < 0)
		fprintf(stderr, "host-core: reload failed: %s\n", msg);
}

static void hb_cb(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct json_object *st, *r;

	H.hb_pending = false;
	if (rc < 0 || !resp || !resp->result || H.t_ready)
		return;
	if (json_object_object_get_ex(resp->result, "status", &st) &&
	    json_object_object_get_ex(st, "ready_peers", &r) &&
	    json_object_get_int(r) > 0)
		H.t_ready = bench_now();
	else if (json_object_object_get_ex(resp->result, "ready_peers", &r) &&
		 json_object_get_int(r) > 0)
		H.t_ready = bench_now();
}

/* Reload at half the chain; after the verdict, ask for READY peers. */
static void reload_step(uint64_t have)
{
	struct hn_error err = { 0 };

	if (!H.reload_sent && have >= (H.want + 3) / 2) {
		H.reload_sent = true;
		H.t_reload = bench_now();
		if (hn_sup_reload(H.sup, NULL, reload_cb, NULL, &err) < 0) {
			fprintf(stderr, "host-core: reload: %s\n", err.msg);
			H.reload_done = true;
			H.reload_rc = -1;
		}
	}
	if (H.reload_done && H.reload_rc == 0 && !H.t_ready &&
	    !H.hb_pending &&
	    hn_sup_call(H.sup, "heartbeat", NULL, 1.0, hb_cb, NULL) == 0)
		H.hb_pending = true;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_sup_stats st;
	uint64_t nb = 0, nt = 0;
	struct hn_hash_list mp = { 0 };

	hn_sup_stats(H.sup, &st);
	if (!H.t_up && st.state == HN_SUP_UP)
		H.t_up = bench_now();
	if (H.done) {
		if (!hn_sup_busy(H.sup))
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (bench_now() > H.deadline) {
		fprintf(stderr, "host-core: timeout\n");
		H.failed = true;
		H.done = true;
		hn_sup_stop(H.sup);
		return;
	}
	if (hn_ledger_counts(H.l, &nb, &nt) < 0)
		return;
	if (H.reload)
		reload_step(nb + nt);
	if (nb + nt < H.want || (H.reload && !H.t_ready && H.reload_rc == 0))
		return;
	if (hn_ledger_mempool(H.l, &mp) < 0)
		return;
	if (mp.n == 0) {
		H.t_done = bench_now();
		H.host_pid = st.pid;
		if (!st.pid || !bench_proc_usage(st.pid, &H.host_cpu,
					   &H.host_hwm_mb))
			H.host_pid = 0;
		H.main_cpu = main_thread_cpu();
		H.done = true;
		hn_loopmon_stop(&H.lm);
		/* The HTTP client stops here, before anything closes. */
		{
			FILE *df = fopen(H.done_file, "w");

			if (df)
				fclose(df);
		}
		hn_sup_stop(H.sup);
	}
	hn_hash_list_release(&mp);
}

/* CPU seconds of this process's main (loop) thread. */
static double main_thread_cpu(void)
{
	double cpu = -1, hwm;

	if (!bench_proc_usage(getpid(), &cpu, &hwm))
		return -1;
	{
		char p[64], buf[2048], *s;
		unsigned long ut = 0, st = 0;
		FILE *f;
		int i;

		snprintf(p, sizeof(p), "/proc/self/task/%d/stat", (int)getpid());
		f = fopen(p, "r");
		if (!f || !fgets(buf, sizeof(buf), f)) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		s = strrchr(buf, ')');
		for (i = 3; s && i <= 13; i++)
			s = strchr(s + 1, ' ');
		if (!s || sscanf(s + 1, "%lu %lu", &ut, &st) != 2)
			return -1;
		cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	return cpu;
}

static double self_hwm_mb(void)
{
	char buf[256];
	double v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(buf, sizeof(buf), f))
		if (strncmp(buf, "VmHWM:", 6) == 0)
			v = atof(buf + 6) / 1024.0;
	if (f)
		fclose(f);
	return v;
}

int bench_host_core(int argc, char **argv)
{
	const char *data = argv[0], *host_bin = argv[1], *plugin = argv[2];
	const char *peer = argv[3], *out = argv[6];
	const struct hn_network *net = hn_network_by_name("unittests");
	struct hn_ledger_opts lo = { 0 };
	struct hn_ipc_opts io = { 0 };
	struct hn_sup_opts so = { 0 };
	struct hn_error err = { 0 };
	struct hn_ipc_stats is;
	struct hn_config cfg = { 0 };
	struct hn_daemon d = { 0 };
	struct rusage ru;
	char db[600], run[600], boot[128];
	const char *pcfg[2];
	struct json_object *o;
	ev_timer tick;
	ev_timer probe;
	FILE *f;
	int rc;

	if ((argc != 7 && argc != 8) || !net)
		return 2;
	H.reload = argc == 8 && strcmp(argv[7], "reload") == 0;
	H.want = strtoull(argv[4], NULL, 10);
	hn_log_setup("warn", NULL, -1);
	snprintf(db, sizeof(db), "%s/ledger.db", data);
	snprintf(run, sizeof(run), "%s/run", data);
	if (mkdir(run, 0700) < 0)
		return 1;
	snprintf(H.done_file, sizeof(H.done_file), "%s/sync.done", data);
	snprintf(boot, sizeof(boot), "p2p.bootstrap=tcp://%s", peer);
	pcfg[0] = "network=unittests";
	pcfg[1] = boot;
	H.loop = ev_default_loop(0);
	lo.db_path = db;
	lo.net = net;
	lo.create = true;
	rc = hn_ledger_open(&lo, &H.l, &err);
	if (rc < 0) {
		fprintf(stderr, "host-core: ledger: %s\n", err.msg);
		return 1;
	}
	io.loop = H.loop;
	io.ledger = H.l;
	io.runtime_dir = run;
	rc = hn_ipc_open(&io, &H.ipc, &err);
	if (rc < 0) {
		fprintf(stderr, "host-core: ipc: %s\n", err.msg);
		hn_ledger_close(H.l);
		return 1;
	}
	so.loop = H.loop;
	so.ipc = H.ipc;
	so.host_bin = host_bin;
	so.plugin_path = plugin;
	so.runtime_dir = run;
	so.listen_fd = -1;
	so.log_level = "warn";
	so.config = pcfg;
	so.n_config = 2;
	rc = hn_config_defaults(&cfg, &err);
	if (rc == 0) {
		cfg.net = net;
		cfg.api_enabled = true;
		snprintf(cfg.api_listen.host, sizeof(cfg.api_listen.host),
			 "127.0.0.1");
		cfg.api_listen.port = 0;
		d.loop = H.loop;
		d.cfg = &cfg;
		d.net = net;
		d.ledger = H.l;
		d.ipc = H.ipc;
		rc = hn_http_module.open(&d, &err);
	}
	if (rc == 0 && d.http) {
		char pp[700], tmp[720];

		snprintf(pp, sizeof(pp), "%s/http.port", data);
		snprintf(tmp, sizeof(tmp), "%s.tmp", pp);
		f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%u\n", (unsigned)hn_http_port(d.http));
			if (fclose(f) == 0)
				rename(tmp, pp);
		}
	} else {
		fprintf(stderr, "host-core: http: %s\n", err.msg);
	}
	H.t0 = bench_now();
	H.deadline = H.t0 + atof(argv[5]);
	rc = hn_sup_open(&so, &H.sup, &err);
	if (rc < 0) {
		fprintf(stderr, "host-core: sup: %s\n", err.msg);
		hn_ipc_close(H.ipc);
		hn_ledger_close(H.l);
		return 1;
	}
	ev_timer_init(&tick, tick_cb, 0.02, 0.02);
	ev_timer_start(H.loop, &tick);
	ev_timer_init(&probe, probe_cb, 0.002, 0.002);
	ev_timer_start(H.loop, &probe);
	hn_loopmon_start(&H.lm, H.loop);
	ev_run(H.loop, 0);
	hn_loopmon_stop(&H.lm);
	ev_timer_stop(H.loop, &tick);
	ev_timer_stop(H.loop, &probe);
	hn_ipc_stats(H.ipc, &is);
	hn_sup_close(H.sup);
	if (d.http) {
		hn_http_module.stop(&d);
		hn_http_module.close(&d);
	}
	hn_config_release(&cfg);
	hn_ipc_close(H.ipc);
	hn_ledger_close(H.l);
	getrusage(RUSAGE_SELF, &ru);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(!H.failed));
	json_object_object_add(o, "seconds",
			       json_object_new_double(H.t_done - H.t0));
	json_object_object_add(o, "hello_s", json_object_new_double(
				       H.t_up ? H.t_up - H.t0 : -1));
	json_object_object_add(o, "core_cpu", json_object_new_double(
		(double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6));
	json_object_object_add(o, "core_hwm_mb",
			       json_object_new_double(self_hwm_mb()));
	if (H.host_pid) {
		json_object_object_add(o, "host_cpu",
				       json_object_new_double(H.host_cpu));
		json_object_object_add(o, "host_hwm_mb",
				       json_object_new_double(H.host_hwm_mb));
	}
	if (H.reload) {
		json_object_object_add(o, "reload_rc",
				       json_object_new_int(H.reload_rc));
		json_object_object_add(o, "reload_at_s", json_object_new_double(
					       H.t_reload - H.t0));
		json_object_object_add(o, "reload_verdict_s",
				       json_object_new_double(H.reload_done ?
					       H.t_verdict - H.t_reload : -1));
		json_object_object_add(o, "reload_ready_after_verdict_s",
				       json_object_new_double(H.t_ready ?
					       H.t_ready - H.t_verdict : -1));
	}
	json_object_object_add(o, "core_main_thread_cpu",
			       json_object_new_double(H.main_cpu));
	json_object_object_add(o, "loop_stalled_s",
			       json_object_new_double(H.stall_sum));
	json_object_object_add(o, "loop_stall_max_ms",
			       json_object_new_double(H.stall_max * 1e3));
	json_object_object_add(o, "loop_stalls_20ms",
			       json_object_new_int64((int64_t)H.n_stall20));
	json_object_object_add(o, "loop_stalls_100ms",
			       json_object_new_int64((int64_t)H.n_stall100));
	json_object_object_add(o, "loop", hn_loopmon_json(&H.lm));
	json_object_object_add(o, "node_ipc_calls",
			       json_object_new_int64((int64_t)is.node.calls));
	json_object_object_add(o, "events_published", json_object_new_int64(
				       (int64_t)is.events_published));
	json_object_object_add(o, "node_ipc_bytes_in", json_object_new_int64(
				       (int64_t)is.node.bytes_in));
	json_object_object_add(o, "node_ipc_bytes_out", json_object_new_int64(
				       (int64_t)is.node.bytes_out));
	json_object_object_add(o, "events_msgs", json_object_new_int64(
				       (int64_t)is.events_msgs));
	json_object_object_add(o, "events_bytes", json_object_new_int64(
				       (int64_t)is.events_bytes));
	json_object_object_add(o, "intake_batches", json_object_new_int64(
				       (int64_t)is.intake_batches));
	json_object_object_add(o, "intake_slices", json_object_new_int64(
				       (int64_t)is.intake_slices));
	json_object_object_add(o, "intake_max_slice_ms", json_object_new_double(
				       (double)is.intake_max_slice_us / 1e3));
	json_object_object_add(o, "intake_slow_slices", json_object_new_int64(
				       (int64_t)is.intake_slow_slices));
	json_object_object_add(o, "intake_max_commit_ms",
			       json_object_new_double(
				       (double)is.intake_max_commit_us / 1e3));
	f = fopen(out, "w");
	rc = f && fputs(json_object_to_json_string(o), f) >= 0 ? 0 : 1;
	if (f && fclose(f) != 0)
		rc = 1;
	json_object_put(o);
	ev_loop_destroy(H.loop);
	return H.failed ? 1 : rc;
}
