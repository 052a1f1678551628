/* sql/tenant_iso--0.1.0--0.2.0.sql: upgrade from 0.1.0 to 0.2.0 (ALTER EXTENSION tenant_iso UPDATE). */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION tenant_iso UPDATE TO '0.2.0'" to load this file. \quit
