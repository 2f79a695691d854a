# Gateway sidecar policy (middleware.http.opa in dapr/config/gateway.yaml's httpPipeline).
#
# Verifies the bearer token against auth-service's public keys, enforces the
# role table below, and passes the verified identity downstream as headers.
# `npm run dev` (and `npm run keys:rotate`) renders this file, with the public
# JWKS and the access model's tables put in place of the markers below, into
# .caregrid/generated/jwt-auth.yaml:
# the OPA middleware keeps no http.send cache between requests, so fetching the
# JWKS would cost one fetch per request. (The daprd that infra/infra.sh builds
# does keep OPA's cache of verified tokens: infra/daprd/patches.)
#
# It is evaluated on every request (README "Performance"): tables are keyed by
# app-id and method so a request looks at its own few routes only, the token is
# decoded and verified once, and `allow` stops at the first branch that holds.
package http

import rego.v1

jwks := `__JWKS__`

default allow := {"allow": false, "status_code": 401}

# The role table, generated from the access model (packages/platform/src/access):
# app-id → method → path patterns of the callee (after /method), each with the
# roles that may attempt it (as an object: role → true).
# Which records (own, care team, all) is the service's check, from the same model.
routes := __ROUTES__

# Routes anyone may call (sign-up, sign-in, refresh, sign-out, the JWKS), from the
# same model: app-id → method → path patterns.
public_routes := __PUBLIC_ROUTES__

# Reachable without a token: sidecar health, the public routes above (they carry
# their own credential or none), and API documents.
public if input.request.path in {"/v1.0/healthz", "/v1.0/healthz/outbound"}

# The Dapr SDK's readiness probe. Only the gateway app reaches this sidecar, and
# it forwards clients only to /v1.0/invoke/... paths, so no client gets here.
public if {
	input.request.method == "GET"
	input.request.path == "/v1.0/metadata"
}

public if {
	some pattern in public_routes[invocation.app][input.request.method]
	regex.match(pattern, invocation.path)
}

public if {
	input.request.method == "GET"
	invocation.path == "/openapi.json"
}

invocation := {"app": parts[1], "path": parts[2]} if {
	parts := regex.find_all_string_submatch_n(`^/v1\.0/invoke/([a-z0-9-]+)/method(/[^?]*)$`, input.request.path, 1)[0]
}

# trim_prefix, not substring: substring converts the whole token to runes (~5% of the policy's CPU).
token := trim_prefix(header, "Bearer ") if {
	header := input.request.headers.Authorization
	startswith(header, "Bearer ")
}

# Only ES256 from our issuer for our audience, signed by a published key, not expired.
# `alg: none` and HS* tokens fail decode_verify's `alg` constraint before any verification.
claims := payload if {
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
	some route in routes[invocation.app][input.request.method]
	regex.match(route.path, invocation.path)
	some role in claims.roles
	route.roles[role]
}

# A FHIR interaction no role may attempt is one the server does not offer (FHIR: 405, with
# Allow naming the methods offered on that path, possibly none). Only a signed-in caller learns
# this: anyone else gets the 401 first. The gateway answers it as an OperationOutcome.
fhir_not_offered if {
	claims.sub
	startswith(invocation.path, "/fhir/")
	not offered
}

offered if {
	some route in routes[invocation.app][input.request.method]
	regex.match(route.path, invocation.path)
}

fhir_allowed_methods contains method if {
	some method, candidates in routes[invocation.app]
	some route in candidates
	regex.match(route.path, invocation.path)
}

identity := {
	"x-caregrid-user-id": claims.sub,
	"x-caregrid-roles": concat(",", claims.roles),
	"x-caregrid-patient-id": object.get(claims, "patientId", ""),
	"x-caregrid-doctor-id": object.get(claims, "doctorId", ""),
	# "false" until a self-registered account confirms its email address (it may not book yet);
	# a token signed before the claim existed belongs to an account that counts as confirmed.
	"x-caregrid-email-verified": json.marshal(object.get(claims, "emailVerified", true)),
}

allow := {"allow": true} if {
	public
} else := {"allow": true, "additional_headers": identity} if {
	permitted
} else := {"allow": false, "status_code": 405, "additional_headers": {"Allow": concat(", ", sort(fhir_allowed_methods))}} if {
	fhir_not_offered
} else := {"allow": false, "status_code": 403} if {
	# a valid token, but none of its roles may call this route
	claims.sub
}
