// Package api is kcc's HTTP server: a health check for load balancers and
// the admin API that changes a running kcc without a restart (flow reload,
// rollback and unpin; incident messages). The supervisor issue extends it
// with REST for supervisors, the event stream and the wallboard.
//
// Admin calls need "Authorization: Bearer <api.admin_token>"; with no token
// configured they are all refused, so a kcc started from its defaults has
// no open door. Every admin change is logged with what changed (and goes to
// the audit log once the store is wired).
//
// Routes (JSON in and out; errors are {"error": "...", "problems": [...]}):
//
//	GET    /healthz                        200 "ok"
//	GET    /api/v1/flows                   every flow's versions, current, pinned
//	POST   /api/v1/flows/reload            load changed flow files (422 with the problems if refused)
//	POST   /api/v1/flows/{flow}/rollback   previous version, pinned
//	POST   /api/v1/flows/{flow}/unpin      back to the file's version
//	GET    /api/v1/incidents               active incident messages
//	PUT    /api/v1/incidents/{slot}        {"prompts": ["storing"], "expires_in": "2h"} or "expires": RFC 3339
//	DELETE /api/v1/incidents/{slot}
//
// api depends on the concepts it serves (flows, incident) through small
// interfaces of its own; cmd/kcc wires it.
package api
