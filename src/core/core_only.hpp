/*
 * core_only.hpp: included last by every header in src/core/.
 *
 * Core code is plain C++ (RAII, exceptions, containers) and must never see
 * PostgreSQL's headers: it cannot call ereport, palloc or anything that may
 * longjmp. Shell code reaches it only through pgmq::CallCpp (boundary.hpp).
 */
#pragma once

#if defined(PGMQ_CORE_SOURCE) && defined(PG_VERSION_NUM)
#error "src/core must not include postgres.h: core code is pure C++ (see boundary.hpp)"
#endif
