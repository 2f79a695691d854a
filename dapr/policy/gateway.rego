# Gateway sidecar policy (middleware.http.opa in dapr/config/gateway.yaml's httpPipeline).
#
# Verifies the bearer token against auth-service's public keys, enforces the
# role table below, and passes the verified identity downstream as headers.
# `npm run dev` (and `npm run keys:rotate`) renders this file, with the public
# JWKS put in place of the marker below, into .caregrid/generated/jwt-auth.yaml:
# the OPA middleware keeps no cache between requests, so fetching the JWKS
# with http.send would cost one fetch per request.
package http

import rego.v1

jwks := `__JWKS__`

default allow := {"allow": false, "status_code": 401}

all_roles := ["admin", "receptionist", "doctor", "patient"]

staff := ["admin", "receptionist"]

# Method + path of the callee (after /method), per app-id → roles allowed.
# Ownership (whose record is it?) is the service's rule, from the identity headers.
routes := [
	{"app": "auth-service", "methods": ["GET"], "path": `^/auth/me$`, "roles": all_roles},
	{"app": "auth-service", "methods": ["POST"], "path": `^/auth/users$`, "roles": ["admin"]},
	{"app": "auth-service", "methods": ["PATCH"], "path": `^/auth/users/[^/]+$`, "roles": ["admin"]},
	{"app": "patient-service", "methods": ["GET"], "path": `^/patients$`, "roles": ["admin", "receptionist", "doctor"]},
	{"app": "patient-service", "methods": ["POST"], "path": `^/patients$`, "roles": staff},
	{"app": "patient-service", "methods": ["GET"], "path": `^/patients/[^/]+$`, "roles": all_roles},
	{"app": "patient-service", "methods": ["PUT", "PATCH"], "path": `^/patients/[^/]+$`, "roles": ["admin", "receptionist", "patient"]},
	{"app": "patient-service", "methods": ["DELETE"], "path": `^/patients/[^/]+$`, "roles": ["admin"]},
	{"app": "doctor-service", "methods": ["GET"], "path": `^/doctors(/[^/]+)?$`, "roles": all_roles},
	{"app": "doctor-service", "methods": ["POST"], "path": `^/doctors$`, "roles": ["admin"]},
	{"app": "doctor-service", "methods": ["PUT", "PATCH"], "path": `^/doctors/[^/]+$`, "roles": ["admin", "doctor"]},
	{"app": "doctor-service", "methods": ["DELETE"], "path": `^/doctors/[^/]+$`, "roles": ["admin"]},
	{"app": "appointment-service", "methods": ["POST"], "path": `^/appointments$`, "roles": ["admin", "receptionist", "patient"]},
	{"app": "appointment-service", "methods": ["GET"], "path": `^/appointments(/[^/]+)?$`, "roles": all_roles},
	{"app": "appointment-service", "methods": ["POST"], "path": `^/appointments/[^/]+/status$`, "roles": all_roles},
	{"app": "appointment-service", "methods": ["POST"], "path": `^/appointments/[^/]+/payment$`, "roles": ["admin", "receptionist", "patient"]},
	{"app": "appointment-service", "methods": ["POST"], "path": `^/appointments/cleanup$`, "roles": ["admin"]},
	{"app": "billing-service", "methods": ["GET"], "path": `^/invoices(/[^/]+(/pdf)?)?$`, "roles": all_roles},
	{"app": "billing-service", "methods": ["POST"], "path": `^/invoices/[^/]+/cancel$`, "roles": staff},
	{"app": "analytics-service", "methods": ["GET"], "path": `^/analytics/.+$`, "roles": ["admin"]},
]

# Reachable without a token: sidecar health, sign-up/in, token refresh and
# sign-out (they carry their own credential), the JWKS, and API documents.
public if input.request.path in {"/v1.0/healthz", "/v1.0/healthz/outbound"}

# The Dapr SDK's readiness probe. Only the gateway app reaches this sidecar, and
# it forwards clients only to /v1.0/invoke/... paths, so no client gets here.
public if {
	input.request.method == "GET"
	input.request.path == "/v1.0/metadata"
}

public if {
	invocation.app == "auth-service"
	invocation.path in {"/auth/register", "/auth/login", "/auth/refresh", "/auth/logout", "/.well-known/jwks.json"}
}

public if {
	input.request.method == "GET"
	invocation.path == "/openapi.json"
}

invocation := {"app": parts[1], "path": parts[2]} if {
	parts := regex.find_all_string_submatch_n(`^/v1\.0/invoke/([a-z0-9-]+)/method(/[^?]*)$`, input.request.path, 1)[0]
}

token := substring(header, 7, -1) if {
	header := input.request.headers.Authorization
	startswith(header, "Bearer ")
}

# Only ES256 from our issuer for our audience, signed by a published key, not expired.
# `alg: none` and HS* tokens fail the header check before any verification.
claims := payload if {
	[header, _, _] := io.jwt.decode(token)
	header.alg == "ES256"
	[valid, _, payload] := io.jwt.decode_verify(token, {
		"cert": jwks,
		"alg": "ES256",
		"iss": "caregrid-auth",
		"aud": "caregrid",
		"time": time.now_ns(),
	})
	valid
}

permitted if {
	some route in routes
	route.app == invocation.app
	input.request.method in route.methods
	regex.match(route.path, invocation.path)
	some role in claims.roles
	role in route.roles
}

identity := {
	"x-caregrid-user-id": claims.sub,
	"x-caregrid-roles": concat(",", claims.roles),
	"x-caregrid-patient-id": object.get(claims, "patientId", ""),
	"x-caregrid-doctor-id": object.get(claims, "doctorId", ""),
}

allow := {"allow": true} if public

allow := {"allow": true, "additional_headers": identity} if {
	not public
	permitted
}

allow := {"allow": false, "status_code": 403} if {
	not public
	claims.sub
	not permitted
}
