"""Sign a ClawSec attestation as a JWS with an independent JOSE library (joserfc).

Usage: sign_jws.py attestation.key ATTESTATION.json KID OUT.jws

The payload is the attestation without its `signature` member, as ClawSec's own JWS
export carries it; the header is {"alg": "ES256", "kid": KID}.
"""
import json
import sys

from joserfc import jws
from joserfc.jwk import ECKey


def main() -> int:
    key_path, doc_path, kid, out = sys.argv[1:5]
    with open(key_path, "rb") as f:
        key = ECKey.import_key(f.read())
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    doc.pop("signature", None)
    payload = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    token = jws.serialize_compact({"alg": "ES256", "kid": kid}, payload, key)
    with open(out, "w", encoding="utf-8") as f:
        f.write(token)
    print("joserfc: signed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
