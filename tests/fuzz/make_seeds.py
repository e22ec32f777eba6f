#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (run once; the seeds are committed).

    python3 tests/fuzz/make_seeds.py

Seeds are small, valid (or nearly valid) inputs in each target's input layout, so a short fuzz
run starts from deep paths. Needs the 'cryptography' module for the signed bundle seeds (the
signing key is the fuzz target's fixed key, seed byte 7, so the genuine signature is a seed).
"""
import hashlib
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def http(method, target, headers=(), body=b""):
    if isinstance(body, str):
        body = body.encode()
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost"] + list(headers)
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(method, target, body):
    head = f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    half = len(body) // 2
    parts = [body[:half], body[half:]]
    return (head + "".join(f"{len(p):x}\r\n{p}\r\n" for p in parts) + "0\r\n\r\n").encode()


SQL = '{"warehouse_id":"wh-1","statement":"SELECT 1","row_limit":5000,"disposition":"INLINE"}'
GRANT = '{"service":"billing-etl","role":"etl","for_seconds":3600,"reason":"INC-42"}'
MAINT = '{"scope":"workspace","target":"prod","reason":"upgrade","for_seconds":600}'

POLICY = """[[service]]
name = "billing-etl"
match = { unit = "billing-etl.service" }
attributes = { env = "production", team = "billing" }
workspace = "prod"
roles = ["etl"]

[[role]]
name = "etl"
credential = "etl-sp"
actions = ["token:all-apis", "jobs.*", "sql.execute"]
limits = { sql_row_limit_max = 10000, sql_warehouses = ["wh-1"] }
"""
RULES = """[[rule]]
id = "jobs-run-production-only"
effect = "deny"
actions = ["jobs.run"]
unless = { "service.env" = "production" }
description = "job runs only from production services"

[[rule]]
id = "staging-sql-row-limit"
effect = "deny"
actions = ["sql.execute"]
when = { service = { env = "staging" } }
unless = { request = { row_limit = { le = 1000 } } }

[[rule]]
id = "office-hours"
effect = "deny"
actions = ["*"]
when = { "service.name" = "reporting" }
unless = { "time.utc" = { between = ["08:00", "18:00"] }, "time.weekday" = ["mon", "fri"] }
"""
CLAMP = """[[service]]
name = "bi"
match = { uid = 1001, group = "analysts" }
roles = ["clamped"]

[[role]]
name = "clamped"
credential = "bi-sp"
actions = ["sql.execute", "token:sql"]
limits = { sql_row_limit_max = 1000, sql_row_limit_clamp = true, sql_byte_limit_max = 65536, sql_byte_limit_clamp = true, requests_per_minute = 60 }

[[service]]
name = "reporting"
match = { exe = "/usr/bin/python3", user = "report" }
roles = ["clamped"]

[[rule]]
id = "rows-required"
effect = "deny"
actions = ["sql.execute"]
when = { "request.row_limit" = { present = false } }
"""


def http_request():
    t = "http_request_fuzz"
    write(t, "token", http("POST", "/v1/token", ["Content-Type: application/json"],
                           '{"workspace":"prod","scope":"all-apis","min_ttl_seconds":300}'))
    write(t, "proxy_get", http("GET", "/api/2.1/clusters/list?can_use_client=x",
                               ["X-Dbproxy-Workspace: prod", "Authorization: Bearer caller",
                                "Connection: keep-alive, X-Secret", "X-Secret: 1"]))
    write(t, "proxy_sql", http("POST", "/w/prod/api/2.0/sql/statements",
                               ["Content-Type: application/json", "User-Agent: etl/1.0"], SQL))
    write(t, "proxy_jobs", http("POST", "/api/2.2/jobs/run-now?job_id=12",
                                ["Content-Type: application/json"], '{"job_id":12}'))
    write(t, "grant_chunked", chunked("POST", "/v1/grants", GRANT))
    write(t, "maintenance_delete", http("DELETE", "/v1/maintenance?scope=service&target=etl"))
    write(t, "pipelined", http("GET", "/healthz") + http("POST", "/v1/maintenance", [], MAINT)
          + http("POST", "/v1/explain", [], '{"action":"jobs.run","service":"billing-etl"}'))
    write(t, "serving", http("POST", "/serving-endpoints/chat/invocations",
                             ["Expect: 100-continue"], '{"messages":[]}'))


def http_target():
    t = "http_target_fuzz"
    for i, target in enumerate([
            "/v1/workspaces/prod%2Dx/credentials?a=1&b=x%20y",
            "/api/2.1/clusters/list",
            "/",
            "/w/prod/api/2.0/sql/statements?row_limit=5&row_limit=6",
            "/v1/maintenance?scope=global&=&x",
            "/a/%2e%2e/b?k=%00",
            "/a//b?%zz=1"]):
        write(t, f"target{i}", target)


def proxy_headers():
    t = "proxy_headers_fuzz"
    write(t, "request", "Host: localhost\nAuthorization: Bearer x\nContent-Type: application/json\n"
          "User-Agent: etl/1.0\nX-Forwarded-For: 10.0.0.1\nX-Dbproxy-Workspace: prod\n"
          "Accept: */*\nCookie: a=b")
    write(t, "connection", "Connection: keep-alive, X-Private , te\nX-Private: 1\nTE: trailers\n"
          "Keep-Alive: timeout=5\nX-Databricks-Org-Id: 1\nuser-agent:\nUser-Agent: second")
    write(t, "response", "Content-Type: application/json\nSet-Cookie: s=1\nAlt-Svc: h3\n"
          "Content-Length: 2\nx-databricks-request-id: abc\nX-Request-Id: def\nRetry-After: 5")


def policy_toml():
    t = "policy_toml_fuzz"
    write(t, "example", POLICY)
    write(t, "rules_two_files", POLICY + "\0" + RULES)
    write(t, "clamp", CLAMP)
    write(t, "three_files", POLICY + "\0" + CLAMP + "\0" + RULES)
    write(t, "bad_key", POLICY + "colour = \"red\"\n")


def b64(data):
    import base64
    return base64.b64encode(data).decode()


def policy_bundle():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    t = "policy_bundle_fuzz"
    seed = bytes([7]) * 32
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
    public_text = "ed25519:" + b64(public)
    key_file = "dbproxy-policy-signing-key-v1\n" + b64(seed + public) + "\n"
    files = [("10-base.toml", POLICY), ("20-rules.toml", RULES)]
    signed = b"dbproxy-policy-bundle-v1\n"
    for name, text in sorted(files):
        signed += struct.pack("<Q", len(name)) + name.encode()
        signed += struct.pack("<Q", len(text)) + text.encode()
    signature = ("dbproxy-policy-signature-v1\nkey " + public_text + "\nsig " +
                 b64(key.sign(signed)) + "\n")
    rest = "".join(name + "\0" + text + "\0" for name, text in files)[:-1]
    write(t, "public_key", public_text)
    write(t, "key_file", key_file)
    write(t, "signature_only", signature)
    write(t, "signed_bundle", signature + "\0" + rest)
    write(t, "unsigned_bundle", "\0" + rest)


def request_body():
    t = "request_body_fuzz"
    # byte 0: call (0 sql, 1 run-now, 6 clusters/create, 9 GET jobs/get); byte 1: limits.
    write(t, "sql_clamp", bytes([0, 0xC5]) + b"\0" + SQL.encode())
    write(t, "sql_no_limit", bytes([0, 0x41]) + b"\0" +
          b'{"warehouse_id":"wh-1","statement":"SELECT * FROM t","parameters":[{"name":"x"}]}')
    write(t, "run_now", bytes([1, 0]) + b"job_id=12\0" + b'{"job_id":12,"notebook_params":{}}')
    write(t, "cluster", bytes([6, 0]) + b"\0" +
          b'{"node_type_id":"i3.xlarge","driver_node_type_id":"i3.2xlarge","num_workers":2,'
          b'"autoscale":{"min_workers":1,"max_workers":8}}')
    write(t, "jobs_get", bytes([9, 0]) + b"job_id=0012&expand=true")


def runtime_api():
    t = "runtime_api_fuzz"
    write(t, "grant", GRANT)
    write(t, "maintenance", MAINT)
    write(t, "maintenance_global", '{"scope":"global"}')
    write(t, "query", "scope=service&target=etl")
    write(t, "fields", '{"a":"short","b":9223372036854775807}')
    write(t, "explain", '{"uid":0,"method":"GET","path":"/api/2.0/secrets/get?scope=etl&key=db",'
          '"jwt":{"idp":"corp","claims":{"sub":"alice","groups":["a","b"]}},'
          '"saml":{"idp":"corp-saml","attributes":{"name_id":"alice","groups":["data-eng"]}}}')


def existing():
    write("redact_fuzz", "bearer", "Authorization: Bearer dapi0123456789abcdef0123456789abcdef")
    write("redact_fuzz", "json", '{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.abc","client_secret":"s"}')
    write("redact_fuzz", "query", "grant_type=client_credentials&client_secret=dose1234&scope=all-apis")
    write("oauth_fuzz", "token", '{"access_token":"eyJ.e30.sig","token_type":"Bearer",'
          '"expires_in":3600,"scope":"all-apis"}')
    write("oauth_fuzz", "error", '{"error":"invalid_client","error_description":"bad secret"}')
    write("oauth_fuzz", "discovery", '{"issuer":"https://h.example.com/oidc",'
          '"token_endpoint":"https://h.example.com/oidc/v1/token"}')
    write("oauth_fuzz", "retry_after", "Wed, 21 Oct 2015 07:28:00 GMT")
    write("oauth_fuzz", "host", "https://adb-1234.5.azuredatabricks.net/")
    for i, path in enumerate(["/api/2.1/clusters/list", "/api/2.0/sql/statements/01ef-ab",
                              "/api/2.2/jobs/runs/get?run_id=1", "/serving-endpoints/x/invocations",
                              "/api/2.0/secrets/scopes/list", "/api/2.1/unity-catalog/tables/a.b.c"]):
        write("classify_fuzz", f"path{i}", bytes([i]) + path.encode())
    write("proxy_fuzz", "route", b"\0/w/prod/api/2.1/clusters/list?a=1")
    write("proxy_fuzz", "sql_body", b"\1" + SQL.encode())
    write("proxy_fuzz", "jobs_body", b"\2" + b'{"job_id":12}')
    write("proxy_fuzz", "cluster_body", b"\3" + b'{"num_workers":4,"node_type_id":"m5.large"}')
    store = struct.pack("<I", 1)
    for s in [b"prod", b"https://adb-1.azuredatabricks.net"]:
        store += struct.pack("<I", len(s)) + s
    store += struct.pack("<I", 1)
    for s in [b"etl-sp", b"0000-client-id"]:
        store += struct.pack("<I", len(s)) + s
    store += struct.pack("<q", 1700000000) + struct.pack("<I", 6) + b"dose42"
    write("store_fuzz", "one_credential", store)
    write("store_fuzz", "empty", struct.pack("<I", 0))
    write("audit_chain_fuzz", "chain", audit_chain())
    write("audit_chain_fuzz", "two_files", audit_chain() + "\0" + audit_chain())


def audit_chain():
    prev, lines = "0" * 64, []
    records = ['{"genesis":true,"time":"2026-01-01T00:00:00.000000Z","host":"h","reason":"start"}',
               '{"request_id":"r1","decision":"allow","action":"token:all-apis"}',
               '{"request_id":"r2","decision":"deny","rule":"default-deny"}']
    for seq, record in enumerate(records):
        line = '{"seq":%d,"prev":"%s",%s' % (seq, prev, record[1:])
        lines.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    return "\n".join(lines) + "\n"


def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# The fixed keys of jwt_fuzz.cpp's JWKS (kid "ed", "p256", "p384"; "rsa" is the RFC 7517 A.1
# public key, for which no private key is used): derived from fixed seeds, so rerunning this
# script keeps the public keys the target embeds.
def jwt_fuzz_keys():
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def scalar(label, curve):
        order = {"P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
                 "P-384": int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                              "581A0DB248B0A77AECEC196ACCC52973", 16)}[curve]
        return int.from_bytes(hashlib.sha512(b"dbproxy jwt_fuzz " + label).digest(), "big") % order

    return {
        "ed": Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32),
        "p256": ec.derive_private_key(scalar(b"p256", "P-256"), ec.SECP256R1()),
        "p384": ec.derive_private_key(scalar(b"p384", "P-384"), ec.SECP384R1()),
    }


def jwt():
    import json
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    t = "jwt_fuzz"
    keys = jwt_fuzz_keys()
    now = 1800000000  # the target's clock
    claims = {"iss": "https://idp.example.com", "sub": "svc-1", "aud": ["dbproxy", "x"],
              "exp": now + 300, "iat": now - 10, "nbf": now - 10, "groups": ["eng", "oncall"]}

    def token(alg, kid, sign):
        header = b64url(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
        payload = b64url(json.dumps(claims).encode())
        signing_input = (header + "." + payload).encode()
        return header + "." + payload + "." + b64url(sign(signing_input))

    def ecdsa(key, hash_algorithm, size):
        def sign(data):
            der = key.sign(data, ec.ECDSA(hash_algorithm, deterministic_signing=True))
            r, s = decode_dss_signature(der)
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return sign

    write(t, "eddsa", token("EdDSA", "ed", keys["ed"].sign))
    write(t, "es256", token("ES256", "p256", ecdsa(keys["p256"], hashes.SHA256(), 32)))
    write(t, "rs256_bad_signature", token("RS256", "rsa", lambda data: bytes(256)))
    public = keys["p384"].public_key().public_numbers()
    jwks = {"keys": [
        {"kty": "EC", "crv": "P-384", "kid": "p384", "use": "sig",
         "x": b64url(public.x.to_bytes(48, "big")), "y": b64url(public.y.to_bytes(48, "big"))},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": b64url(keys["ed"].public_key()
         .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))},
        {"kty": "oct", "k": "c2VjcmV0"}]}
    write(t, "jwks", json.dumps(jwks, separators=(",", ":")))


# The fixed key of saml_fuzz.cpp's certificate: a P-256 key derived from a fixed label, so
# rerunning this script keeps the public key the target pins. The certificate itself is signed
# deterministically too (its bytes are pasted into saml_fuzz.cpp).
def saml_fuzz_key():
    from cryptography.hazmat.primitives.asymmetric import ec
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    scalar = int.from_bytes(hashlib.sha512(b"dbproxy saml_fuzz p256").digest(), "big") % order
    return ec.derive_private_key(scalar, ec.SECP256R1())


def saml_fuzz_certificate():
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    key = saml_fuzz_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "saml_fuzz idp")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
            .not_valid_after(datetime.datetime(2036, 1, 1, tzinfo=datetime.timezone.utc))
            .sign(key, hashes.SHA256(), ecdsa_deterministic=True))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def saml():
    """Assertions signed with saml_fuzz_key(), written already in exclusive canonical form (no
    whitespace between elements, attributes in order, no empty-element tags), so that the digest
    and the signature can be computed without an XML library."""
    import base64
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    t = "saml_fuzz"
    now = 1800000000  # the target's clock: 2027-01-15T08:00:00Z

    def time(seconds):
        import datetime
        moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def assertion(aid, name_id, groups, signature):
        values = "".join(f"<saml:AttributeValue>{g}</saml:AttributeValue>" for g in groups)
        return (
            '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
            f'ID="{aid}" IssueInstant="{time(now - 10)}" Version="2.0">'
            "<saml:Issuer>https://idp.example.com/saml</saml:Issuer>" + signature +
            "<saml:Subject><saml:NameID>" + name_id + "</saml:NameID>"
            '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml:SubjectConfirmationData NotOnOrAfter="{time(now + 300)}">'
            "</saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>"
            f'<saml:Conditions NotBefore="{time(now - 10)}" NotOnOrAfter="{time(now + 300)}">'
            "<saml:AudienceRestriction><saml:Audience>https://dbproxy.example.com</saml:Audience>"
            "</saml:AudienceRestriction></saml:Conditions>"
            '<saml:AttributeStatement><saml:Attribute Name="groups">' + values +
            "</saml:Attribute></saml:AttributeStatement></saml:Assertion>")

    def signed(aid, name_id, groups):
        digest = base64.b64encode(hashlib.sha256(
            assertion(aid, name_id, groups, "").encode()).digest()).decode()
        signed_info = (
            '<ds:SignedInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">'
            '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">'
            "</ds:CanonicalizationMethod>"
            '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256">'
            f'</ds:SignatureMethod><ds:Reference URI="#{aid}"><ds:Transforms>'
            '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature">'
            '</ds:Transform><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">'
            "</ds:Transform></ds:Transforms>"
            '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256">'
            f"</ds:DigestMethod><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"
            "</ds:SignedInfo>")
        der = saml_fuzz_key().sign(signed_info.encode(),
                                   ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        value = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
        signature = ('<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">' +
                     signed_info.replace(' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"', "") +
                     f"<ds:SignatureValue>{value}</ds:SignatureValue></ds:Signature>")
        return assertion(aid, name_id, groups, signature)

    def response(children):
        return ('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
                'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" '
                f'IssueInstant="{time(now)}"><saml:Issuer>https://idp.example.com/saml'
                "</saml:Issuer>" + children + "</samlp:Response>")

    valid = signed("_s1", "alice@corp.example", ["eng", "oncall"])
    evil = assertion("_evil", "admin@corp.example", ["admins"], "")
    write(t, "assertion_xml", valid)
    write(t, "assertion_base64", base64.b64encode(valid.encode()))
    write(t, "response_xml", response(valid))
    write(t, "wrapped_xml", response(evil + valid))
    write(t, "comment_in_name_id_xml", valid.replace("alice@corp.example<", "alice@corp<!---->"
                                                     ".example<", 1))
    write(t, "certificate_pem", saml_fuzz_certificate())


if __name__ == "__main__":
    for generator in (http_request, http_target, proxy_headers, policy_toml, policy_bundle,
                      request_body, runtime_api, existing, jwt, saml):
        generator()
