/*
 * worker.hpp: the background worker that enforces queue policies.
 *
 * Shell code. With pgmq in shared_preload_libraries, _PG_init registers the
 * launcher ("pgmq launcher" in pg_stat_activity). It connects to no database,
 * reads pg_database every pgmq.launcher_interval_ms and starts a dynamic
 * worker ("pgmq worker", named "pgmq worker <database>") for every database
 * that accepts connections, is not a template and has none running. A worker
 * that finds no pgmq extension in its database exits at once, and the
 * launcher starts none there again until CREATE EXTENSION pgmq commits there
 * (which wakes it) or a back-off runs out. Short of process slots, databases
 * take turns and the shortage is logged once. Otherwise a worker runs
 * a maintenance pass every pgmq.worker_interval_ms (worker_pass.cpp). Both
 * start only after recovery (never on a hot standby); SIGTERM ends them,
 * SIGHUP reloads the configuration; the launcher is restarted by the
 * postmaster after a crash, workers by the launcher.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE
 * DATABASE ... TEMPLATE need the database to themselves; a ProcessUtility hook
 * stops that database's worker first and keeps the launcher away until the
 * command ends (status.hpp).
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"

PGDLLEXPORT void pgmq_launcher_main(Datum main_arg);
PGDLLEXPORT void pgmq_worker_main(Datum main_arg);
}

namespace pgmq::worker {

/* RegisterLauncher registers the launcher; call from _PG_init while preloading. */
void RegisterLauncher();

/* InstallUtilityHook installs the hook that stops a database's worker before DROP DATABASE and similar. */
void InstallUtilityHook();

/* RunPass runs one maintenance pass in this worker's database; false when the extension is not installed. */
bool RunPass(MemoryContext pass_cxt);

} // namespace pgmq::worker
