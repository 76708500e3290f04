#!/usr/bin/env python3
"""Builds the advisory snapshot clawsecd ships (daemon/data/advisories.osv.jsonl).

The snapshot is OSV, one document per line, trimmed to what matching needs (id,
aliases, summary, dates, severity, affected packages, ranges and versions), for the
ecosystems the lockfile parsers read: npm, PyPI and crates.io.

Sources are OSV exports: `.jsonl` files (one document per line), `.json` files, a
directory of them, or the per-ecosystem `all.zip` archives the OSV project publishes
(https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip). `--download`
fetches those three archives (needs network access). PyPI and crates.io are kept whole;
npm, whose export holds hundreds of thousands of entries, is kept for the packages agent
hosts install (agent CLIs, MCP servers and SDKs, and what they are built on) and for
every malicious-package (MAL-) entry whose name marks it as agent tooling.

    tools/advisories/build-snapshot.py --download
    tools/advisories/build-snapshot.py ../shared/advisories/*.jsonl   # offline rebuild

Prints what it kept per ecosystem and the newest `modified` date (the snapshot's as-of).
"""

import argparse
import io
import json
import os
import re
import sys
import urllib.request
import zipfile

ECOSYSTEMS = {"npm", "PyPI", "crates.io"}
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "daemon", "data", "advisories.osv.jsonl")
EXPORT = "https://osv-vulnerabilities.storage.googleapis.com/{}/all.zip"

# npm packages agent hosts install, by exact name or scope.
NPM_SCOPES = ("@anthropic-ai/", "@openai/", "@google/", "@modelcontextprotocol/", "@langchain/",
              "@ai-sdk/", "@mistralai/", "@nx/", "@playwright/")
NPM_NAMES = {"openclaw", "clawdbot", "moltbot", "openai", "ai", "langchain", "mcp-remote", "nx",
             "playwright", "puppeteer", "axios", "undici", "node-fetch", "ws", "express", "zod",
             "dotenv", "vite", "esbuild", "next", "tar", "semver", "cross-spawn", "shell-quote",
             "minimist", "lodash", "jsonwebtoken", "chalk", "debug", "@ctrl/tinycolor"}
AGENT_WORDS = re.compile(r"mcp|claude|anthropic|openai|codex|gemini|cursor|copilot|agent|llm|openclaw")

KEEP = ("id", "aliases", "summary", "published", "modified", "withdrawn", "severity")


def wanted_npm(name, osv_id):
    if name in NPM_NAMES or name.startswith(NPM_SCOPES):
        return True
    return osv_id.startswith("MAL-") and bool(AGENT_WORDS.search(name))


def trim(doc):
    affected = []
    for a in doc.get("affected", []):
        pkg = a.get("package", {})
        eco = pkg.get("ecosystem")
        if eco not in ECOSYSTEMS:
            continue
        if eco == "npm" and not wanted_npm(pkg.get("name", ""), doc.get("id", "")):
            continue
        entry = {"package": {"ecosystem": eco, "name": pkg.get("name")}}
        if a.get("ranges"):
            entry["ranges"] = [r for r in a["ranges"] if r.get("type") in ("SEMVER", "ECOSYSTEM")]
        # Enumerated versions are generated from the ranges; kept only where no range
        # the matcher reads (SEMVER, ECOSYSTEM) says the same.
        if a.get("versions") and not entry.get("ranges"):
            entry["versions"] = a["versions"]
        if entry.get("ranges") or entry.get("versions"):
            affected.append(entry)
    if not affected or doc.get("withdrawn"):
        return None
    out = {k: doc[k] for k in KEEP if k in doc}
    out["affected"] = affected
    return out


def documents(source):
    """Yields (name, OSV document) from a file, directory or zip archive."""
    if os.path.isdir(source):
        for root, _, files in os.walk(source):
            for f in sorted(files):
                if f.endswith((".json", ".jsonl", ".zip")):
                    yield from documents(os.path.join(root, f))
    elif source.endswith(".zip"):
        with zipfile.ZipFile(source) as z:
            for n in z.namelist():
                if n.endswith(".json"):
                    yield n, json.loads(z.read(n))
    elif source.endswith(".jsonl"):
        with open(source, encoding="utf-8") as fh:
            for i, line in enumerate(fh, 1):
                if line.strip():
                    yield f"{source}:{i}", json.loads(line)
    else:
        with open(source, encoding="utf-8") as fh:
            yield source, json.load(fh)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="*", help="OSV .jsonl/.json files, directories or all.zip archives")
    ap.add_argument("--download", action="store_true", help="fetch the OSV exports of npm, PyPI and crates.io")
    ap.add_argument("-o", "--output", default=OUT, help="where to write the snapshot (default: %(default)s)")
    args = ap.parse_args()
    sources = list(args.sources)
    if args.download:
        os.makedirs("target/osv", exist_ok=True)
        for eco in sorted(ECOSYSTEMS):
            dest = os.path.join("target/osv", f"{eco}.zip")
            print(f"downloading {EXPORT.format(eco)}", file=sys.stderr)
            with urllib.request.urlopen(EXPORT.format(eco), timeout=600) as r, open(dest, "wb") as fh:
                fh.write(r.read())
            sources.append(dest)
    if not sources:
        ap.error("name OSV sources or pass --download")
    kept = {}
    for source in sources:
        for name, doc in documents(source):
            if not isinstance(doc, dict) or "id" not in doc:
                sys.exit(f"{name}: not an OSV document (no id)")
            t = trim(doc)
            if t:
                kept[t["id"]] = t
    counts = {}
    newest = ""
    args.output = os.path.normpath(args.output)
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for osv_id in sorted(kept):
            d = kept[osv_id]
            fh.write(json.dumps(d, separators=(",", ":"), sort_keys=True) + "\n")
            for eco in {a["package"]["ecosystem"] for a in d["affected"]}:
                counts[eco] = counts.get(eco, 0) + 1
            newest = max(newest, d.get("modified", ""))
    os.replace(tmp, args.output)
    size = os.path.getsize(args.output)
    print(f"{args.output}: {len(kept)} advisories ({', '.join(f'{e} {n}' for e, n in sorted(counts.items()))}), "
          f"{size} bytes, newest modified {newest or 'unknown'}")


if __name__ == "__main__":
    main()
