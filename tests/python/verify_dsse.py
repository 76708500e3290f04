"""Verify a ClawSec DSSE envelope with Python's `cryptography`, following the DSSE
protocol (PAE over payloadType and the decoded payload) and the in-toto Statement v1
layout. Usage: verify_dsse.py ENVELOPE.json attestation.pub  (exit 0 valid, 1 invalid)
"""
import base64
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def pae(payload_type: str, body: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def main() -> int:
    env_path, pub_path = sys.argv[1:3]
    with open(env_path, encoding="utf-8") as f:
        env = json.load(f)
    body = base64.b64decode(env["payload"])
    with open(pub_path, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    for s in env["signatures"]:
        try:
            key.verify(base64.b64decode(s["sig"]), pae(env["payloadType"], body), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        statement = json.loads(body)
        assert statement["_type"] == "https://in-toto.io/Statement/v1", statement["_type"]
        assert env["payloadType"] == "application/vnd.in-toto+json"
        print(f"dsse: VALID predicateType={statement['predicateType']} seq={statement['predicate']['seq']}")
        return 0
    print("dsse: INVALID")
    return 1


if __name__ == "__main__":
    sys.exit(main())
