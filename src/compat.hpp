/*
 * compat.hpp: every difference between PostgreSQL major versions, in one place.
 *
 * Written for PostgreSQL 15; each shim names the version that changed the API.
 */
#pragma once

extern "C" {
#include "postgres.h"

#include "funcapi.h"
}

#if PG_VERSION_NUM < 150000
#error "pgmq needs PostgreSQL 15 or newer"
#endif

/* PG 16 renamed SetSingleFuncCall to InitMaterializedSRF. */
#if PG_VERSION_NUM < 160000
#define PGMQ_INIT_MATERIALIZED_SRF(fcinfo, flags) SetSingleFuncCall((fcinfo), (flags))
#else
#define PGMQ_INIT_MATERIALIZED_SRF(fcinfo, flags) InitMaterializedSRF((fcinfo), (flags))
#endif

/* PG 16 folded pg_namespace_aclcheck into object_aclcheck. */
#if PG_VERSION_NUM < 160000
#define PGMQ_NAMESPACE_ACLCHECK(nsp_oid, roleid, mode) pg_namespace_aclcheck((nsp_oid), (roleid), (mode))
#else
#define PGMQ_NAMESPACE_ACLCHECK(nsp_oid, roleid, mode) object_aclcheck(NamespaceRelationId, (nsp_oid), (roleid), (mode))
#endif
