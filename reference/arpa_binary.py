"""A binary n-gram model file that loads in milliseconds: a header, then aligned NumPy arrays, memory-mapped.

``lmverify ngram build model.arpa model.bin`` writes it (like KenLM's ``build_binary``);
:func:`read_model` (and ``BackoffModel.load``) reads a binary or an ARPA file, chosen by the first bytes.

Layout (little-endian)::

    0   8 bytes   magic b"LMVNGRAM"
    8   uint32    format version (FORMAT_VERSION)
    12  uint32    header length H in bytes
    16  uint32    CRC-32 of the header bytes
    20  uint32    reserved (0)
    24  H bytes   header: JSON (UTF-8) {"order", "vocab_size", "arrays": {name: [dtype, shape, offset, nbytes,
                  crc32]}, ...}
    ... arrays, each starting at a multiple of 64 bytes, at the offsets the header gives

The arrays are the model (``keys``/``logprob``/``backoff`` of each order, float64 as read from the ARPA
text, so scores are bit for bit those of the ARPA file) and what scoring builds on first use when it reads
an ARPA file: the open-addressing hash table of each order's keys and of the packed vocabulary. Loading
maps the file (``np.memmap``, read-only), checks the magic, the version, the header's CRC, and that every
array lies inside the file with the size its dtype and shape need; it reads no array. The arrays' own
CRC-32s are checked by ``read_binary(path, verify=True)`` (that reads the whole file).
"""

from __future__ import annotations

import json
import os
import struct
import zlib

import numpy as np

MAGIC = b"LMVNGRAM"
FORMAT_VERSION = 2  # 2: the compact float32 scoring tables (qk, qt, geometry, q1) added
_PREFIX = struct.Struct("<8sIIII")
_ALIGN = 64
_DTYPES = {"<i8", "<i4", "<f8", "<f4", "<u1", "<c16"}


class BinaryModelError(ValueError):
    """A binary model file that cannot be used; the message names the file and what is wrong."""


def is_binary_model(path) -> bool:
    """Whether the file starts with the binary model's magic bytes."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _arrays_of(model) -> dict[str, np.ndarray]:
    """The arrays that make up ``model`` and its scoring tables (built here if not yet built). The orders' log10
    p, back-off weights and hash tables are each one array, end to end in the layout of the compiled scorer
    (reference/arpa_walk.py's ``tables``), so that it reads the mapped file without a copy."""
    from reference import arpa_walk
    from reference.arpa import _HashIndex

    words = "\n".join(model.words).encode("utf-8")
    out: dict[str, np.ndarray] = {"words": np.frombuffer(words, dtype=np.uint8)}
    for k in range(2, model.order + 1):
        out[f"keys{k}"] = np.ascontiguousarray(model.keys[k - 1], dtype=np.int64)
    pairs, _, _, _, lp, _, bo, _ = arpa_walk.tables(model, lambda k: _HashIndex.of(model, k))
    out["pairs"], out["logprob"], out["backoff"] = pairs, lp, bo
    index, word_ids = model._packed_vocabulary()
    out["vocab_hash"] = index.table
    out["vocab_keys"] = index.keys
    out["vocab_ids"] = np.ascontiguousarray(word_ids, dtype=np.int64)
    qk, _, qt, _, geometry, q1 = arpa_walk.query_tables(model)
    out["qk"], out["qt"], out["geometry"], out["q1"] = qk, qt, geometry, q1
    return out


def write_binary(model, path) -> None:
    """Write ``model`` (a BackoffModel) as a binary model file, atomically (a temporary file renamed)."""
    path = os.fspath(path)
    arrays = _arrays_of(model)
    hash_bits = {}
    from reference.arpa import _HashIndex

    for k in range(2, model.order + 1):
        hash_bits[str(k)] = _HashIndex.of(model, k).bits
    hash_bits["vocab"] = model._packed_vocabulary()[0].bits
    table = {}
    offset = 0
    for name, a in arrays.items():
        a = np.ascontiguousarray(a)
        dt = a.dtype.newbyteorder("<").str if a.dtype.byteorder not in ("<", "|") else a.dtype.str
        dt = dt.replace("|", "<")
        table[name] = [dt, list(a.shape), offset, int(a.nbytes), zlib.crc32(memoryview(a).cast("B")) & 0xFFFFFFFF]
        offset += -(-int(a.nbytes) // _ALIGN) * _ALIGN
    from reference.arpa import BOS, EOS, UNK

    special = {w: model.index[w] for w in (UNK, BOS, EOS) if w in model.index}
    header = {"order": model.order, "vocab_size": model.vocab_size, "hash_bits": hash_bits, "special": special,
              "arrays": table}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    start = -(-(_PREFIX.size + len(hb)) // _ALIGN) * _ALIGN
    for entry in table.values():
        entry[2] += start
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")  # with the final offsets
    start2 = -(-(_PREFIX.size + len(hb)) // _ALIGN) * _ALIGN
    if start2 != start:  # the offsets' digits lengthened the header past an alignment boundary
        for entry in table.values():
            entry[2] += start2 - start
        hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
        start = start2
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(_PREFIX.pack(MAGIC, FORMAT_VERSION, len(hb), zlib.crc32(hb) & 0xFFFFFFFF, 0))
            f.write(hb)
            f.write(b"\0" * (start - _PREFIX.size - len(hb)))
            pos = start
            for name, a in arrays.items():
                off = table[name][2]
                f.write(b"\0" * (off - pos))
                f.write(memoryview(np.ascontiguousarray(a)).cast("B"))
                pos = off + int(a.nbytes)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _map(path, verify: bool = False):
    """(order, vocabulary size, hash bits, the arrays as read-only views of the mapped file, the map, the header)
    of the binary model file ``path``, every check of :func:`read_binary` on the way but the arrays' agreement."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            prefix = f.read(_PREFIX.size)
            if len(prefix) < _PREFIX.size:
                raise BinaryModelError(f"{path}: {size} bytes: too short for a binary model file (truncated?)")
            magic, version, hlen, hcrc, _ = _PREFIX.unpack(prefix)
            if magic != MAGIC:
                raise BinaryModelError(f"{path}: not a binary model file (it starts with {magic!r}, expected "
                                       f"{MAGIC!r})")
            if version != FORMAT_VERSION:
                raise BinaryModelError(f"{path}: binary model format version {version}; this version of lmverify "
                                       f"reads version {FORMAT_VERSION}: rebuild it with `lmverify ngram build "
                                       "MODEL.arpa MODEL.bin`")
            hb = f.read(hlen)
    except FileNotFoundError:
        raise BinaryModelError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise BinaryModelError(f"{path}: is a directory, expected a model file") from None
    if len(hb) < hlen or zlib.crc32(hb) & 0xFFFFFFFF != hcrc:
        raise BinaryModelError(f"{path}: the header is damaged (its CRC-32 does not match; truncated or "
                               "overwritten?): rebuild the file")
    try:
        header = json.loads(hb.decode("utf-8"))
        N, V, table, bits = header["order"], header["vocab_size"], header["arrays"], header["hash_bits"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise BinaryModelError(f"{path}: the header does not describe a model ({exc})") from None
    need = ["words", "vocab_hash", "vocab_keys", "vocab_ids", "pairs", "logprob", "backoff", "qk", "qt", "geometry",
            "q1"]
    need += [f"keys{k}" for k in range(2, N + 1)]
    missing = [n for n in need if n not in table]
    if missing:
        raise BinaryModelError(f"{path}: the header lacks the arrays {missing}")
    mm = np.memmap(path, dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)
    arrays = {}
    for name in need:
        dt, shape, off, nbytes, crc = table[name]
        if dt not in _DTYPES:
            raise BinaryModelError(f"{path}: array {name!r} has dtype {dt!r}, expected one of {sorted(_DTYPES)}")
        dtype = np.dtype(dt)
        if int(np.prod(shape)) * dtype.itemsize != nbytes or off % _ALIGN or off < 0:
            raise BinaryModelError(f"{path}: array {name!r}: {nbytes} bytes at offset {off} do not hold a {dt} "
                                   f"array of shape {shape}")
        if off + nbytes > size:
            raise BinaryModelError(f"{path}: array {name!r} ends at byte {off + nbytes} but the file has {size} "
                                   "bytes (truncated?)")
        a = mm[off: off + nbytes]
        if verify and zlib.crc32(a) & 0xFFFFFFFF != crc:
            raise BinaryModelError(f"{path}: array {name!r} is damaged (its CRC-32 does not match)")
        arrays[name] = a.view(dtype).reshape(shape)
    return N, V, bits, arrays, mm, header


def read_binary(path, verify: bool = False):
    """A BackoffModel whose arrays are read-only views of the memory-mapped file ``path``.

    Raises :class:`BinaryModelError` naming the file for a wrong magic, another format version, a damaged
    header, an array outside the file (a truncated file) or, with ``verify``, an array whose CRC-32 differs.
    """
    from reference.arpa import BackoffModel, _HashIndex

    path = os.fspath(path)
    N, V, bits, arrays, mm, header = _map(path, verify)
    try:
        words = bytes(arrays["words"]).decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise BinaryModelError(f"{path}: the vocabulary is not UTF-8 (damaged?)") from None
    if len(words) != V:
        raise BinaryModelError(f"{path}: the header gives {V} words, the vocabulary holds {len(words)}")
    counts = [V] + [len(arrays[f"keys{k}"]) for k in range(2, N + 1)]
    off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    lp_all, bo_all, pairs = arrays["logprob"], arrays["backoff"], arrays["pairs"]
    slots = [1 << int(bits[str(k)]) for k in range(2, N + 1)]
    if len(lp_all) != off[-1] or len(bo_all) != off[-1] or pairs.ndim != 2 or pairs.shape[1:] != (2,) \
            or len(pairs) != max(sum(slots), 1):
        raise BinaryModelError(f"{path}: the arrays do not match the n-gram counts {counts} (damaged?)")
    keys = [np.arange(V, dtype=np.int64)] + [arrays[f"keys{k}"] for k in range(2, N + 1)]
    try:
        model = BackoffModel(words=words, keys=keys, logprob=[lp_all[off[k]: off[k + 1]] for k in range(N)],
                             backoff=[bo_all[off[k]: off[k + 1]] for k in range(N)])
    except ValueError as exc:
        raise BinaryModelError(f"{path}: {exc}") from None
    cache = model.__dict__.setdefault("_hash_index", {})
    start = 0
    starts, masks, shifts = (np.zeros(N + 1, np.int64) for _ in range(3))
    for k, n_slots in zip(range(2, N + 1), slots):
        b = int(bits[str(k)])
        cache[k] = _HashIndex.from_table(keys[k - 1], pairs[start: start + n_slots].view(np.complex128).ravel(), b)
        starts[k], masks[k], shifts[k] = start, n_slots - 1, 64 - b
        start += n_slots
    lp_off = np.concatenate([[0], off[:N]]).astype(np.int64)  # index k: where the k-grams start
    model.__dict__["_flat_tables"] = (pairs, starts, masks, shifts, lp_all, lp_off, bo_all, lp_off.copy())
    model.__dict__["_packed_vocab"] = (_HashIndex.from_table(arrays["vocab_keys"], arrays["vocab_hash"],
                                                             int(bits["vocab"])), arrays["vocab_ids"])
    model.__dict__["_query_tables"] = _query_views(path, arrays, counts)
    model.__dict__["_mapped"] = mm
    return model


def _query_views(path: str, arrays: dict, counts: list[int]) -> tuple:
    """The compact scoring tables (reference/arpa_walk.py's ``query_tables``) of a mapped file, checked against the
    n-gram counts."""
    from reference.arpa_walk import _read_only, query_size

    N, V = len(counts), counts[0]
    qk, qt, geometry, q1 = arrays["qk"], arrays["qt"], arrays["geometry"], arrays["q1"]
    sizes = [query_size(c) for c in counts[1:]]
    starts = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64)
    if qk.ndim != 2 or qk.shape[1:] != (2,) or len(qk) != max(sum(sizes[:-1]), 1) or qt.ndim != 2 \
            or qt.shape[1:] != (3,) or len(qt) != max(sizes[-1] if sizes else 0, 1) or geometry.shape != (2, N + 1) \
            or q1.shape != (V, 2) or any(geometry[0, k] != (starts[k - 2] if k < N else 0)
                                         or geometry[1, k] != sizes[k - 2] for k in range(2, N + 1)):
        raise BinaryModelError(f"{path}: the scoring tables do not match the n-gram counts {counts} (damaged?)")
    return _read_only((qk, qk.view(np.float32).reshape(len(qk), 4), qt, qt.view(np.float32), geometry, q1))


class ScoringModel:
    """What ``lmverify ngram score`` reads of a model: the order, the vocabulary's size and hash table of packed
    words, the ids of ``<unk>``, ``<s>``, ``</s>`` and the compact float32 scoring tables. Of a binary file
    (``ScoringModel(path)``) they are views of the mapped file (the ids from the header); of an ARPA file,
    reference/arpa.py's ``read_arpa_for_scoring`` builds them while it reads the file a block at a time. The
    words' dictionary (for tokens of more than 8 bytes) and the whole :class:`~reference.arpa.BackoffModel`
    (:meth:`full`: for text the compiled path does not take) are made only when asked for: scoring a text
    touches the pages of the tables and of the vocabulary's hash table only."""

    def __init__(self, path, verify: bool = False) -> None:
        from reference.arpa import _HashIndex

        path = os.fspath(path)
        N, V, bits, arrays, mm, header = _map(path, verify)
        special = header.get("special")
        if not isinstance(special, dict) or not all(isinstance(i, int) and 0 <= i < V for i in special.values()):
            raise BinaryModelError(f"{path}: the header lacks the ids of <unk>, <s>, </s> (damaged?)")
        counts = [V] + [len(arrays[f"keys{k}"]) for k in range(2, N + 1)]
        tables = _query_views(path, arrays, counts)
        try:
            vindex = _HashIndex.from_table(arrays["vocab_keys"], arrays["vocab_hash"], int(bits["vocab"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise BinaryModelError(f"{path}: the vocabulary's hash table does not match ({exc})") from None
        words = arrays["words"]

        def words_index() -> dict:
            try:
                return {w: i for i, w in enumerate(bytes(words).decode("utf-8").split("\n"))}
            except UnicodeDecodeError:
                raise BinaryModelError(f"{path}: the vocabulary is not UTF-8 (damaged?)") from None

        self._set(path, N, V, special, tables, (vindex, arrays["vocab_ids"]), words_index, lambda: read_binary(path))

    @classmethod
    def of_parts(cls, path, order: int, vocab_size: int, special: dict, tables: tuple, packed_vocab: tuple,
                 words_index, full) -> "ScoringModel":
        """A ScoringModel from its parts (``words_index``, ``full``: functions making the words' dictionary and
        the whole model, called at most once)."""
        model = cls.__new__(cls)
        model._set(path, order, vocab_size, special, tables, packed_vocab, words_index, full)
        return model

    def _set(self, path, order, vocab_size, special, tables, packed_vocab, words_index, full) -> None:
        self.path, self.order, self.vocab_size = path, order, vocab_size
        self.__dict__["_query_tables"] = tables
        self.__dict__["_packed_vocab"] = packed_vocab
        self.index = _LazyIndex(special, words_index)
        self._make_full, self._full = full, None

    def _packed_vocabulary(self):
        return self.__dict__["_packed_vocab"]

    def full(self):
        """The whole model (:func:`read_binary`, or of an ARPA file ``read_arpa``), read once."""
        if self._full is None:
            self._full = self._make_full()
        return self._full


class _LazyIndex:
    """word -> id: the ids of ``<unk>``, ``<s>``, ``</s>`` given; any other word from the words' dictionary, made
    on first use."""

    def __init__(self, special: dict, words_index) -> None:
        self._special, self._make, self._index = special, words_index, None

    def _words(self) -> dict:
        if self._index is None:
            self._index = self._make()
        return self._index

    def __getitem__(self, word: str) -> int:
        i = self._special.get(word)
        return i if i is not None else self._words()[word]

    def get(self, word: str, default=None):
        i = self._special.get(word)
        return i if i is not None else self._words().get(word, default)


def read_for_scoring(path):
    """A :class:`ScoringModel` for a binary model file or (read a block at a time, with the compiled kernels) a
    plain ARPA file, else the :class:`~reference.arpa.BackoffModel` of :func:`read_model` (an ARPA file the
    streaming reader does not take as it is: it names the problem)."""
    if is_binary_model(path):
        return ScoringModel(path)
    from reference.arpa import read_arpa_for_scoring

    model = read_arpa_for_scoring(path)
    return model if model is not None else read_model(path)


def read_model(path, verify: bool = False):
    """A BackoffModel from a binary model file or an ARPA file (plain or gzip), chosen by the first bytes."""
    if is_binary_model(path):
        return read_binary(path, verify=verify)
    from reference.arpa import read_arpa

    return read_arpa(path)
