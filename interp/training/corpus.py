"""Build the public-domain training corpus from Debian packages.

Sources (all public-domain text):
- r-cran-janeaustenr: six Austen novels, stored as an R lazy-load database
  (gzip'd .rdx index + zlib blobs in .rdb), decoded with the pure-Python `rdata`.
- sword-text-web: the World English Bible as a SWORD zText module
  (.bzs block index of 3 x u32, zlib blocks in .bzz, .bzv verse index of u32,u32,u16).
- dict-devil: Bierce's Devil's Dictionary in dictd format (.dict.dz is gzip).

`apt-get download` + `dpkg -x` need no root install; the result is a list of ~4 KB documents.
"""
from __future__ import annotations

import gzip
import html
import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

PACKAGES = ("r-cran-janeaustenr", "sword-text-web", "dict-devil")
DOC_CHARS = 4000


def fetch_packages(workdir: Path) -> Path:
    """Download and unpack the Debian packages into workdir/root (no install)."""
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "root"
    for pkg in PACKAGES:
        if not list(workdir.glob(f"{pkg}_*.deb")):
            subprocess.run(["apt-get", "download", pkg], cwd=workdir, check=True)
        (deb,) = workdir.glob(f"{pkg}_*.deb")
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def _chunk(paragraphs: list[str], size: int = DOC_CHARS) -> list[str]:
    docs, cur = [], ""
    for p in paragraphs:
        if cur and len(cur) + len(p) > size:
            docs.append(cur)
            cur = ""
        cur = f"{cur}\n\n{p}" if cur else p
    if cur:
        docs.append(cur)
    return docs


def austen_books(root: Path) -> dict[str, str]:
    import rdata  # training-only dependency

    data = root / "usr/lib/R/site-library/janeaustenr/data"
    index = rdata.conversion.convert(rdata.parser.parse_data(gzip.decompress((data / "Rdata.rdx").read_bytes())))
    rdb = (data / "Rdata.rdb").read_bytes()
    books = {}
    for name, (off, length) in index["variables"].items():
        blob = rdb[int(off) : int(off) + int(length)]
        lines = rdata.conversion.convert(rdata.parser.parse_data(zlib.decompress(blob[4:])))
        books[str(name)] = "\n".join(str(x) for x in lines)
    return books


def _paragraphs(text: str) -> list[str]:
    """Re-flow hard-wrapped lines into paragraphs separated by blank lines."""
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return [p for p in paras if p]


_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_TAG = re.compile(r"<[^>]+>")


def web_bible_chapters(root: Path) -> list[str]:
    """Decode the SWORD zText module into one string per run of verses (chapters)."""
    mod = root / "usr/share/sword/modules/texts/ztext/engWEB2015eb"
    chapters: list[str] = []
    for testament in ("ot", "nt"):
        bzs = (mod / f"{testament}.bzs").read_bytes()
        bzz = (mod / f"{testament}.bzz").read_bytes()
        bzv = (mod / f"{testament}.bzv").read_bytes()
        blocks = [struct.unpack_from("<III", bzs, i) for i in range(0, len(bzs), 12)]
        cache: dict[int, bytes] = {}
        verses: list[str] = []
        for i in range(0, len(bzv), 10):
            block, offset, size = struct.unpack_from("<IIH", bzv, i)
            if size == 0:  # book / chapter boundary entries
                if verses:
                    chapters.append(" ".join(verses))
                    verses = []
                continue
            if block not in cache:
                start, csize, _ = blocks[block]
                cache[block] = zlib.decompress(bzz[start : start + csize])
            raw = cache[block][offset : offset + size].decode("utf-8", "replace")
            text = " ".join(html.unescape(_TAG.sub(" ", _NOTE.sub(" ", raw))).split())
            if text and "osis2mod" not in raw:
                verses.append(text)
        if verses:
            chapters.append(" ".join(verses))
    return [c for c in chapters if len(c) > 40]


def devils_dictionary(root: Path) -> str:
    raw = gzip.decompress((root / "usr/share/dictd/devil.dict.dz").read_bytes()).decode("utf-8", "replace")
    start = raw.find("PREFACE")
    return raw[start:] if start >= 0 else raw


def build_documents(root: Path) -> list[str]:
    docs: list[str] = []
    for text in austen_books(root).values():
        docs += _chunk(_paragraphs(text))
    docs += _chunk(web_bible_chapters(root))
    docs += _chunk(_paragraphs(devils_dictionary(root)))
    return docs


def build_corpus(workdir: Path) -> list[str]:
    """Return the documents, cached as workdir/corpus.jsonl."""
    cache = workdir / "corpus.jsonl"
    if cache.exists():
        return [json.loads(line) for line in cache.read_text().splitlines()]
    docs = build_documents(fetch_packages(workdir))
    cache.write_text("\n".join(json.dumps(d) for d in docs))
    return docs
