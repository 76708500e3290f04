"""Verify a ClawSec attestation with Python's `cryptography`, independently of ClawSec.

Usage: verify_attestation.py ATTESTATION.json attestation.pub attestation.jwk OUTDIR

Re-canonicalizes the document itself (RFC 8785 for integer-only JSON is exactly
json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)), verifies the DER
ECDSA P-256/SHA-256 signature, recomputes the RFC 7638 key id, and writes the canonical
bytes and the decoded signature to OUTDIR (canonical.bin, sig.der) for openssl.
Exit 0 when valid, 1 when not.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def main() -> int:
    doc_path, pub_path, jwk_path, out_dir = sys.argv[1:5]
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    signature = base64.b64decode(doc.pop("signature"), validate=True)
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    with open(pub_path, "rb") as f:
        public_key = serialization.load_pem_public_key(f.read())
    assert isinstance(public_key.curve, ec.SECP256R1), "not a P-256 key"
    try:
        public_key.verify(signature, canonical, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        print("python-cryptography: INVALID signature")
        return 1
    with open(jwk_path, encoding="utf-8") as f:
        jwk = json.load(f)
    members = {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]}
    thumb = base64.urlsafe_b64encode(
        hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest()
    ).rstrip(b"=").decode()
    if thumb != doc["key_id"] or thumb != jwk["kid"]:
        print(f"python-cryptography: key_id {doc['key_id']} != RFC 7638 thumbprint {thumb}")
        return 1
    with open(f"{out_dir}/canonical.bin", "wb") as f:
        f.write(canonical)
    with open(f"{out_dir}/sig.der", "wb") as f:
        f.write(signature)
    print(f"python-cryptography: VALID seq={doc['seq']} tier={doc['posture']['trust_tier']} key_id={thumb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
