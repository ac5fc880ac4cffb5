"""Choosing the text encoding of an input file, and keeping undecodable bytes visible.

:func:`decide_encoding` looks at the whole file once (streamed, bounded memory) and returns an
:class:`EncodingDecision`: the codec, a confidence, how it was decided and every undecodable byte.
The order of evidence:

1. a byte-order mark (UTF-8, UTF-16, UTF-32);
2. NUL bytes on every other position: UTF-16 without a BOM;
3. valid UTF-8 throughout, or UTF-8 with a few undecodable bytes (at least 8 valid non-ASCII bytes per
   bad one): UTF-8 is kept and the bad bytes are reported, never a silent switch to another codec;
4. otherwise a large sample (the first 4 MiB): the Cyrillic codec (cp1251, koi8-r, cp866, mac-cyrillic) that
   reads it as the most Russian letters, then the most lower case, cp1251 on a tie; when no Cyrillic reading
   looks Russian, charset-normalizer chooses (e.g. cp1252), and cp1251 is the fallback.

Readers decode with the ``voc.escape`` error handler: each undecodable byte ``b`` becomes the lone
surrogate ``U+DC00 + b``, so a reader can find it in the row and field it lands in (:data:`ESCAPED`) and
reject that row; the k-th escape in file order is ``decision.bad_byte_offsets[k]``.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voc.ingest.errors import IngestError

#: Error handler name for decoding with escapes (register once at import).
ESCAPE_ERRORS = "voc.escape"
#: An escaped undecodable byte in decoded text.
ESCAPED = re.compile("[\udc00-\udcff]")
#: Bytes handed to charset-normalizer when the file is not UTF-8.
SAMPLE_BYTES = 4 * 1024 * 1024
#: At most this many bad-byte offsets are kept (all are counted).
MAX_RECORDED_OFFSETS = 1000
#: UTF-8 is kept when the valid non-ASCII bytes outnumber the undecodable ones this many times.
UTF8_GOOD_PER_BAD = 8
#: Cyrillic single-byte codecs, in order of preference on a tie.
CYRILLIC: tuple[str, ...] = ("cp1251", "koi8_r", "cp866", "mac_cyrillic")
#: Codecs offered to charset-normalizer when the sample is not Russian in any Cyrillic codec.
CANDIDATES: tuple[str, ...] = (*CYRILLIC, "cp1252", "iso8859_15")
#: a Cyrillic reading needs this share of Russian letters among non-ASCII characters to count
MIN_RUSSIAN_SHARE = 0.6
#: more Latin–Cyrillic letter contacts per Russian letter than this: not Russian (Western accents)
MAX_MIXED_SHARE = 0.5
#: Russian-letter shares closer than this are a tie
FIT_MARGIN = 0.05
#: lower-case shares closer than this are a tie (real Russian text differs by 0.5+ between koi8-r and cp1251
#: readings; random letters by ~0.1)
LOWER_MARGIN = 0.3
_SCORE_BYTES = 1024 * 1024
_BLOCK = 1 << 20
_HIGH_BYTES = bytes(range(0x80, 0x100))
_recording: ContextVar[list[tuple[int, int]] | None] = ContextVar("voc_encoding_recording", default=None)


def _escape_handler(exc: UnicodeError) -> tuple[str | bytes, int]:
    """Decode: bad byte b → U+DC00+b (recorded when a scan is running). Encode: the reverse."""
    if isinstance(exc, UnicodeDecodeError):
        bad = exc.object[exc.start:exc.end]
        record = _recording.get()
        if record is not None:
            record.append((exc.start, exc.end))
        return "".join(chr(0xDC00 + b) for b in bad), exc.end
    if isinstance(exc, UnicodeEncodeError):
        chunk = exc.object[exc.start:exc.end]
        if all("\udc00" <= ch <= "\udcff" for ch in chunk):
            return bytes(ord(ch) - 0xDC00 for ch in chunk), exc.end
    raise exc


codecs.register_error(ESCAPE_ERRORS, _escape_handler)


@dataclass(frozen=True)
class EncodingDecision:
    """How a text file was decoded. ``as_dict()`` is what the batch writes into summary.json."""

    #: Python codec used to read the file ("utf-8", "utf-8-sig", "utf-16", "cp1251", …)
    encoding: str
    #: 0..1: 1.0 for a BOM or clean UTF-8; share of valid non-ASCII bytes for UTF-8 with bad bytes; share
    #: of Russian letters for "cyrillic letters"; 1 - chaos for charset-normalizer; 0.0 for a fallback
    confidence: float
    #: "bom" | "valid utf-8" | "utf-8 with undecodable bytes" | "utf-16 without bom" |
    #: "cyrillic letters" | "charset-normalizer" | "fallback" | "given"
    method: str
    #: bytes that the chosen codec cannot decode (each is reported in the row it lands in)
    bad_bytes: int = 0
    #: byte offsets of the first 1,000 undecodable bytes, in file order
    bad_byte_offsets: tuple[int, ...] = ()
    #: size of the file in bytes
    file_bytes: int = 0
    #: bytes given to charset-normalizer (0 when it was not needed)
    sample_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (offsets capped at the first 20 for readability)."""
        data = asdict(self)
        data["bad_byte_offsets"] = list(self.bad_byte_offsets[:20])
        return data

    def offset_of(self, k: int) -> int | None:
        """Byte offset of the k-th (0-based) undecodable byte, None past the recorded ones."""
        return self.bad_byte_offsets[k] if 0 <= k < len(self.bad_byte_offsets) else None


@dataclass
class _Scan:
    bad: int
    offsets: list[int]
    high_bytes: int


def _scan(path: Path, encoding: str, start: int = 0) -> _Scan:
    """Decode the whole file (streamed) counting undecodable bytes and non-ASCII bytes."""
    decoder = codecs.getincrementaldecoder(encoding)(errors=ESCAPE_ERRORS)
    bad, high = 0, 0
    offsets: list[int] = []
    fed = start
    record: list[tuple[int, int]] = []
    token = _recording.set(record)
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            while True:
                block = handle.read(_BLOCK)
                base = fed - len(getattr(decoder, "buffer", b"") or b"")
                record.clear()
                decoder.decode(block, final=not block)
                for begin, end in record:
                    bad += end - begin
                    offsets.extend(range(base + begin, base + end)[:max(0, MAX_RECORDED_OFFSETS - len(offsets))])
                if not block:
                    break
                high += len(block) - len(block.translate(None, _HIGH_BYTES))
                fed += len(block)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None
    finally:
        _recording.reset(token)
    return _Scan(bad, offsets, high)


def _is_utf32(head: bytes) -> bool:
    try:
        head[:len(head) - len(head) % 4].decode("utf-32")
    except UnicodeDecodeError:
        return False
    return True


def _bom(head: bytes) -> tuple[str, int] | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", 3
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) and _is_utf32(head):
        return "utf-32", 0  # (FF FE 00 00 is also a UTF-16 BOM followed by a NUL character)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NULs fill one byte position of ASCII characters, else None."""
    if len(sample) < 4 or sample.count(0) < len(sample) // 20:
        return None
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    if odd >= 2 and odd >= 0.9 * (odd + even):
        return "utf-16-le"
    if even >= 2 and even >= 0.9 * (odd + even):
        return "utf-16-be"
    return None


def _sample(path: Path, size: int, first_bad: int | None) -> bytes:
    """The first SAMPLE_BYTES, or (when they are plain ASCII) a window from the first bad byte."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        if sample.isascii() and first_bad is not None and first_bad >= len(sample):
            handle.seek(max(0, first_bad - 1024))
            sample = handle.read(SAMPLE_BYTES)
    return sample


_RUSSIAN = re.compile("[А-Яа-яЁё]")
_RUSSIAN_LOWER = re.compile("[а-яё]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
_MIXED = re.compile("[A-Za-z][А-Яа-яЁё]|[А-Яа-яЁё][A-Za-z]")


def _cyrillic_fit(sample: bytes, codec: str) -> tuple[float, float]:
    """(share of non-ASCII characters that are Russian letters, share of those in lower case) when the sample
    is read as ``codec``. Russian text is nearly all Russian letters, mostly lower case, in words of their
    own; a wrong Cyrillic codec turns them into symbols (cp866, mac-cyrillic) or swaps the case (koi8-r vs
    cp1251), and Western accents read as Cyrillic letters inside Latin words (0 then)."""
    text = sample[:_SCORE_BYTES].decode(codec, errors="replace")
    non_ascii = len(_NON_ASCII.findall(text))
    letters = len(_RUSSIAN.findall(text))
    if not non_ascii or not letters or len(_MIXED.findall(text)) > MAX_MIXED_SHARE * letters:
        return 0.0, 0.0
    return letters / non_ascii, len(_RUSSIAN_LOWER.findall(text)) / letters


def _guess(sample: bytes) -> tuple[str, float, str]:
    """(codec, confidence, method) for a sample that is not UTF-8.

    When some Cyrillic codec reads the sample as Russian letters, the codec with the most of them (then clearly
    the most lower case; else the first of CYRILLIC, cp1251) wins ("cyrillic letters"); otherwise charset-normalizer chooses among
    CANDIDATES (e.g. cp1252 for Western text), and cp1251 is the fallback.
    """
    fits = {codec: _cyrillic_fit(sample, codec) for codec in CYRILLIC}
    best_share = max(share for share, _ in fits.values())
    if best_share >= MIN_RUSSIAN_SHARE:
        close = [c for c in CYRILLIC if fits[c][0] >= best_share - FIT_MARGIN]
        top_lower = max(fits[c][1] for c in close)
        codec = next(c for c in close if fits[c][1] >= top_lower - LOWER_MARGIN)
        return codecs.lookup(codec).name, round(fits[codec][0], 3), "cyrillic letters"
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=list(CANDIDATES)).best()
    if best is None:
        return "cp1251", 0.0, "fallback"
    return codecs.lookup(best.encoding).name, round(max(0.0, 1.0 - best.chaos), 3), "charset-normalizer"


_CACHE: OrderedDict[tuple[Any, ...], EncodingDecision] = OrderedDict()
_CACHE_SIZE = 128


def _fingerprint(path: Path, size: int) -> int:
    """CRC of the first and last 64 KiB: with size and times, tells a rewritten file from a cached one."""
    with open(path, "rb") as handle:
        crc = zlib.crc32(handle.read(64 * 1024))
        if size > 64 * 1024:
            handle.seek(max(64 * 1024, size - 64 * 1024))
            crc = zlib.crc32(handle.read(), crc)
    return crc


def decide_encoding(path: str | Path, encoding: str | None = None) -> EncodingDecision:
    """The encoding of a text file (see the module docstring).

    Cached per file (path, inode, size, times and a CRC of its ends), so readers and the batch calling it
    again for summary.json do not re-scan. With ``encoding`` given, that codec is used
    (``method="given"``) and only the bad bytes are counted.
    """
    path = Path(path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns,
               _fingerprint(path, stat.st_size), encoding)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    decision = _decide(path, stat.st_size, encoding)
    _CACHE[key] = decision
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return decision


def _made(encoding: str, confidence: float, method: str, scan: _Scan, size: int, sample: int = 0,
          ) -> EncodingDecision:
    return EncodingDecision(encoding, confidence, method, scan.bad, tuple(scan.offsets), size, sample)


def _decide(path: Path, size: int, given: str | None) -> EncodingDecision:
    if given is not None:
        try:
            codec = codecs.lookup(given).name
        except LookupError:
            raise IngestError(f"{path}: unknown encoding {given!r}") from None
        return _made(given, 1.0, "given", _scan(path, codec), size)
    try:
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None
    bom = _bom(head)
    if bom is not None:
        name, skip = bom
        return _made(name, 1.0, "bom", _scan(path, "utf-8" if skip else name, start=skip), size)
    utf16 = _utf16_without_bom(head)
    if utf16 is not None:
        return _made(utf16, 0.9, "utf-16 without bom", _scan(path, utf16), size)
    utf8 = _scan(path, "utf-8")
    if utf8.bad == 0:
        return _made("utf-8", 1.0, "valid utf-8", utf8, size)
    good = utf8.high_bytes - utf8.bad
    if good >= UTF8_GOOD_PER_BAD * utf8.bad:
        return _made("utf-8", round(good / utf8.high_bytes, 3), "utf-8 with undecodable bytes", utf8, size)
    sample = _sample(path, size, utf8.offsets[0] if utf8.offsets else None)
    codec, confidence, method = _guess(sample)
    return _made(codec, confidence, method, _scan(path, codec), size, len(sample))


def detect_encoding(path: str | Path) -> str:
    """The codec name of :func:`decide_encoding` (kept for callers that only need the name)."""
    return decide_encoding(path).encoding


def describe_bad_bytes(text: str, decision: EncodingDecision, first_index: int | None) -> str:
    """"undecodable byte 0x98 at byte offset 1234 (+2 more) for utf-8" for the escapes in ``text``;
    ``first_index`` is the file-order index of the first of them (None: offset unknown)."""
    found = ESCAPED.findall(text)
    if not found:
        return ""
    offset = decision.offset_of(first_index) if first_index is not None else None
    where = f" at byte offset {offset}" if offset is not None else ""
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    return f"undecodable byte 0x{ord(found[0]) - 0xDC00:02x}{where}{more} for {decision.encoding}"


def unescape(text: str) -> str:
    """Escaped bad bytes → U+FFFD (for showing a value)."""
    return ESCAPED.sub("\ufffd", text)
