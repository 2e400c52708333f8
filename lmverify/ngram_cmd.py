"""``lmverify ngram``: estimate a modified Kneser-Ney model as KenLM's ``lmplz`` does, and score text as
KenLM's ``query`` prints it.

    lmverify ngram estimate CORPUS -o N [--discount_fallback] [--interpolate_unigrams 0] > model.arpa
    lmverify ngram build model.arpa model.bin
    lmverify ngram score model.arpa|model.bin [TEXT] [-n] [-v summary|sentence|word] < text

``CORPUS`` and ``TEXT`` may be ``-`` (standard input, the default of ``score``). The options are
lmplz's and query's: ``-o/--order``, ``--discount_fallback``, ``--interpolate_unigrams 0|1``,
``--arpa FILE`` (write there instead of standard output); ``-S`` and ``-T`` are accepted and ignored
(the model is estimated in memory). The estimate prints lmplz's "Statistics" lines (n-grams and
discounts per order) on standard error. ``build`` writes the binary model (reference/arpa_binary.py)
that ``score`` maps in milliseconds; ``score`` reads either format (by the file's first bytes) and, given
an ARPA file, builds the scoring tables in memory (no file is written beside it).

Exit codes: 0 ok; 1 the input cannot be used (a missing or empty corpus, a corpus too small for
estimated discounts, a malformed ARPA file: the message names the file and line); 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2


def _bool01(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected 0 or 1, got {value!r}")


def _order(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {n}")
    return n


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``ngram`` subcommand (with ``estimate`` and ``score``) to an argparse subparsers object."""
    p = subparsers.add_parser("ngram", help="estimate a Kneser-Ney model (like lmplz) or score text (like query)",
                              description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="ngram_command", required=True)
    est = sub.add_parser("estimate", help="modified Kneser-Ney estimation; writes an ARPA file",
                         description="Modified Kneser-Ney, KenLM lmplz's conventions: one sentence per line, "
                                     "tokens separated by whitespace, UTF-8.")
    est.add_argument("corpus", nargs="?", default="-", help="training text, one sentence per line ('-': stdin)")
    est.add_argument("-o", "--order", type=_order, required=True, help="order of the model (lmplz's -o)")
    est.add_argument("--discount_fallback", action="store_true",
                     help="use discounts 0.5, 1, 1.5 where an order's counts of counts cannot estimate them")
    est.add_argument("--interpolate_unigrams", type=_bool01, default=True, metavar="0|1",
                     help="1 (default): interpolate unigrams with the uniform distribution; 0: give the "
                          "discounted unigram mass to <unk>")
    est.add_argument("--arpa", default=None, metavar="FILE", help="write the ARPA file here (default: stdout)")
    est.add_argument("--text", default=None, metavar="FILE", help="lmplz's name for CORPUS")
    est.add_argument("-S", "--memory", default=None, help="accepted for lmplz compatibility; ignored")
    est.add_argument("-T", "--temp_prefix", default=None, help="accepted for lmplz compatibility; ignored")
    est.set_defaults(func=run)
    sc = sub.add_parser("score", help="per-word and per-sentence log10 probabilities and perplexity, like query",
                        description="Scores each line as a sentence (<s> ... </s>) and prints, like KenLM's "
                                    "query: word=vocab_id ngram_length log10p per word, 'Total: log10 OOV: n' "
                                    "per line, then the perplexity including and excluding OOVs.")
    sc.add_argument("model", help="ARPA file (plain or gzip) or binary model file (lmverify ngram build)")
    sc.add_argument("text", nargs="?", default="-", help="text to score, one sentence per line ('-': stdin)")
    sc.add_argument("-n", dest="no_context", action="store_true",
                    help="do not wrap the input in <s> and </s> (query's -n)")
    sc.add_argument("-v", dest="levels", action="append", choices=("summary", "sentence", "word"),
                    help="print statistics at this level (repeatable; default: all three, like query)")
    sc.set_defaults(func=run)
    bb = sub.add_parser("build", help="write a binary model that loads in milliseconds, like KenLM's build_binary",
                        description="Reads an ARPA file (plain or gzip; or a binary model) and writes the binary "
                                    "model file: a header and aligned arrays (the n-grams, their log10 p and "
                                    "back-off weights, and the hash tables scoring uses), memory-mapped by "
                                    "`score` and by BackoffModel.load.")
    bb.add_argument("model", help="ARPA file (plain or gzip)")
    bb.add_argument("output", help="binary model file to write")
    bb.set_defaults(func=run)
    p.set_defaults(func=run)
    return p


def _error(args, message: str) -> int:
    print(f"lmverify ngram {getattr(args, 'ngram_command', '')}: error: {message}", file=sys.stderr)
    return EXIT_INPUT


def run(args) -> int:
    try:
        if args.ngram_command == "estimate":
            return _estimate(args)
        if args.ngram_command == "build":
            return _build_binary(args)
        return _score(args)
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK


def _estimate(args) -> int:
    from reference.numpy.ngram import DiscountError, read_corpus, write_kneser_ney_arpa

    src = args.text if args.text is not None else args.corpus
    try:
        corpus = read_corpus(src)
    except FileNotFoundError:
        return _error(args, f"{src}: no such corpus file")
    except IsADirectoryError:
        return _error(args, f"{src}: is a directory, expected a text file")
    except OSError as exc:
        return _error(args, f"{src}: cannot read: {exc.strerror or exc}")
    except ValueError as exc:
        return _error(args, f"{'stdin' if src == '-' else src}: {exc}")

    def statistics(counts, stats):
        lines = ["Statistics:"]
        for k, (c, d, fb) in enumerate(zip(counts, stats.discounts, stats.fallback), start=1):
            lines.append(f"{k} {c} D1={d[0]:g} D2={d[1]:g} D3+={d[2]:g}" + (" (fallback)" if fb else ""))
        print("\n".join(lines), file=sys.stderr)

    # each order is written as soon as its values are final and then freed; the corpus's ids are freed once
    # counted: the peak memory is that of the n-gram tables, not of a whole model beside them
    out = args.arpa if args.arpa else sys.stdout.buffer
    try:
        write_kneser_ney_arpa(corpus, args.order, out, discount_fallback=args.discount_fallback,
                              interpolate_unigrams=args.interpolate_unigrams, release_stream=True,
                              before_write=statistics)
    except DiscountError as exc:
        reason = str(exc).split("; pass discount_fallback")[0]
        return _error(args, f"{reason}; is the corpus small or artificial? rerun with --discount_fallback to use "
                            "D1, D2, D3+ = 0.5, 1, 1.5 for such orders (as lmplz)")
    except OSError as exc:
        if not args.arpa:
            raise
        return _error(args, f"{args.arpa}: cannot write: {exc.strerror}")
    except ValueError as exc:
        return _error(args, str(exc))
    if not args.arpa:
        sys.stdout.buffer.flush()
    return EXIT_OK


def _f32(x) -> str:
    """A float32 as KenLM prints it: the shortest text that reads back to the same float32, without a
    trailing '.0' (KenLM prints 0 and -1, not 0.0 and -1.0)."""
    import numpy as np

    x = np.float32(x)
    if x == 0 or (1e-6 <= abs(x) < 1e21):
        return np.format_float_positional(x, unique=True, trim="-")
    return str(x)


def _f32_strings(values):
    """(the distinct float32 values of ``values`` formatted as :func:`_f32`, index of each value among them):
    each distinct value is formatted once. NumPy's ``str`` of a float32 has the same shortest digits (Dragon4,
    unique) and is positional for 1e-4 <= |x| < 1e16; other magnitudes take :func:`_f32`."""
    import numpy as np

    u, inv = np.unique(np.asarray(values, dtype=np.float32), return_inverse=True)
    out = []
    for x in u:
        t = str(x)
        if "e" in t or "n" in t:  # scientific notation, inf or nan: the general path
            t = _f32(x)
        elif t.endswith(".0"):
            t = t[:-2]
        out.append(t)
    return out, inv.reshape(-1)


def _pool(strings: list[str]):
    """The UTF-8 bytes of ``strings`` end to end, and the offset of each (n + 1 offsets)."""
    import numpy as np

    enc = [t.encode() for t in strings]
    off = np.zeros(len(enc) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=off[1:])
    return np.frombuffer(b"".join(enc) or b"\0", dtype=np.uint8), off


def _load_model(args, for_scoring: bool = False):
    """The model of ``args.model`` (binary by its magic bytes, else ARPA), or an exit code after a named error;
    ``for_scoring``: of a binary file, only what ``score`` reads (reference/arpa_binary.py's ScoringModel)."""
    from reference.arpa import ArpaError
    from reference.arpa_binary import BinaryModelError, read_for_scoring, read_model

    try:
        return read_for_scoring(args.model) if for_scoring else read_model(args.model)
    except (ArpaError, BinaryModelError) as exc:
        return _error(args, str(exc))
    except IsADirectoryError:
        return _error(args, f"{args.model}: is a directory, expected a model file (ARPA or binary)")
    except OSError as exc:
        return _error(args, f"{args.model}: cannot read: {exc.strerror or exc}")


def _build_binary(args) -> int:
    from reference.arpa_binary import write_binary

    model = _load_model(args)
    if isinstance(model, int):
        return model
    try:
        write_binary(model, args.output)
    except OSError as exc:
        return _error(args, f"{args.output}: cannot write: {exc.strerror or exc}")
    counts = "/".join(f"{c:,}" for c in model.counts())
    print(f"{args.output}: binary model of order {model.order}, {counts} n-grams, "
          f"{os.path.getsize(args.output):,} bytes", file=sys.stderr)
    return EXIT_OK


def _compile_note(started: float) -> None:
    """Say on stderr when this run compiled the scorer (the first run; later runs load Numba's cache)."""
    import time

    from reference import arpa_walk

    missed = [f for f in arpa_walk.dispatchers() if sum(f.stats.cache_misses.values())]
    if missed:
        where = missed[0].stats.cache_path
        print(f"lmverify ngram score: compiled the scorer with Numba ({time.perf_counter() - started:.1f} s, once: "
              f"cached in {where} for later runs)", file=sys.stderr)


#: bytes of text scored at a time (ends moved to the next newline): the text is read a block at a time, so the
#: memory per token is one block's
_SCORE_BLOCK = 1 << 17
#: a text shorter than this is scored by the array path (the compiled kernels' load would be most of its time)
_COMPILED_SCORE_AT = 1 << 16


def _read_blocks(f, first: bytes):
    """The text of the binary file ``f`` (``first``: its bytes already read) as blocks of whole lines of about
    :data:`_SCORE_BLOCK` bytes (a block ends after a newline, or at the end of the text)."""
    buf = bytearray(first)
    while True:
        while len(buf) < _SCORE_BLOCK:
            more = f.read(_SCORE_BLOCK)
            if not more:
                break
            buf += more
        else:
            more = True
        if not buf:
            return
        if not more:  # the end of the text
            yield bytes(buf)
            return
        cut = buf.rfind(b"\n", 0, _SCORE_BLOCK)
        while cut < 0:  # a line longer than a block: up to its newline
            grown = f.read(_SCORE_BLOCK)
            if not grown:
                yield bytes(buf)
                return
            cut = grown.find(b"\n")
            if cut >= 0:
                cut += len(buf)
            buf += grown
        yield bytes(buf[: cut + 1])
        del buf[: cut + 1]


def _score_stream(model, blocks, bos: bool, eos: bool, levels: set, jit, where: str):
    """What ``score`` prints (an iterator of byte buffers), a block of lines at a time: compiled loops
    (reference/_arpa_jit.py: tokens and their ids, the walk of each sentence over the compact float32 tables, the
    lines) where the kernels are there, else (and for a block with whitespace other than ASCII's, or a NUL byte) the
    array path. A block that is not UTF-8 raises ``_NotUtf8`` (what was printed before it stays printed)."""
    import numpy as np

    from reference.arpa import UNK, _has_other_whitespace

    want_words, want_sentences = "word" in levels, "sentence" in levels
    n_tok, oov_scores, all_totals = 0, [], []
    tables = None
    offset = 0
    for raw in blocks:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _NotUtf8(f"{where}: not UTF-8 text (byte {offset + exc.start})") from None
        offset += len(raw)
        block = np.frombuffer(raw, dtype=np.uint8)
        if jit is None or _has_other_whitespace(block):
            full = model.full() if hasattr(model, "full") else model
            part, n, oov_s, totals = _score_arrays(full, raw, bos, eos, levels)
            n_tok += n
            oov_scores.append(oov_s)
            all_totals.append(totals)
            yield part
            continue
        if tables is None:
            from reference import arpa_walk

            qk, qv, qt, qtv, geometry, q1 = arpa_walk.query_tables(model, jit)
            vindex, vword_ids = model._packed_vocabulary()
            vpairs = vindex.table.view(np.int64).reshape(-1, 2)
            unk = model.index[UNK]
            from reference.arpa import BOS, EOS

            bos_id, eos_id = (model.index[BOS] if bos else -1), (model.index[EOS] if eos else -1)
            tables = True
        n_lines = raw.count(b"\n") + (1 if raw[-1:] != b"\n" else 0)
        ids, tok_start, tok_end, per_line = jit.text_ids(block, n_lines, vpairs, vindex.mask, 64 - vindex.bits,
                                                         vword_ids, unk)
        long_ = np.flatnonzero(ids == -2)
        if len(long_):  # tokens longer than 8 bytes: the dictionary
            get = model.index.get
            ids[long_] = [get(raw[x:y].decode("utf-8"), unk) for x, y in zip(tok_start[long_].tolist(),
                                                                             tok_end[long_].tolist())]
        scores, length, w, per_sentence, totals = jit.score_lines32(
            ids, per_line, bos_id, eos_id, model.order, model.vocab_size, qk, qv, qt, qtv, geometry, q1)
        del ids
        oov = w == unk
        n_tok += len(scores)
        oov_scores.append(scores[oov])
        all_totals.append(totals)
        if want_words or want_sentences:
            oov_per = np.zeros(len(per_sentence), dtype=np.int64)
            nonempty = per_sentence > 0
            if len(w):
                starts_ = np.cumsum(per_sentence) - per_sentence
                oov_per[nonempty] = np.add.reduceat(oov.astype(np.int64), starts_[nonempty])
            ok_s, sd, ss = jit.f32_digits(scores if want_words else scores[:0])
            ok_t, td, ts = jit.f32_digits(totals if want_sentences else totals[:0])
            und_s, und_t = ~ok_s, ~ok_t
            texts, idx = _f32_strings(np.concatenate([scores[und_s], totals[und_t]]))
            pool, pool_off = _pool(texts)
            score_idx = np.full(len(scores) if want_words else 0, -1, np.int64)
            score_idx[und_s] = idx[: int(und_s.sum())]
            total_idx = np.full(len(totals) if want_sentences else 0, -1, np.int64)
            total_idx[und_t] = idx[int(und_s.sum()):]
            width = 16 + (int(np.diff(pool_off).max()) if len(texts) else 0)  # positional float32: <= 15 bytes
            size = (int((tok_end - tok_start).sum()) + len(w) * (4 + 2 * 21 + 3 + width) * want_words
                    + len(per_sentence) * (14 + 21 + width) * want_sentences)
            yield jit.query_lines(block, tok_start, tok_end, per_sentence, eos, np.where(oov, 0, w), length, scores,
                                  sd, ss, pool, pool_off, score_idx, totals, td, ts, total_idx, oov_per, want_words,
                                  want_sentences, size)  # written as it is: no copy
    if "summary" in levels:
        yield _summary(n_tok, np.concatenate(oov_scores) if oov_scores else np.zeros(0, np.float32),
                       np.concatenate(all_totals) if all_totals else np.zeros(0, np.float32)).encode()


class _NotUtf8(ValueError):
    """A block of the text to score that is not UTF-8."""


def _summary(n_tok: int, oov_scores, totals) -> str:
    """query's last four lines: perplexity including and excluding OOVs, OOVs, tokens (``n_tok`` predictions,
    the float32 scores of the OOV ones, the float32 sentence totals)."""
    import numpy as np

    n_oov = len(oov_scores)
    total = float(totals.astype(np.float64).sum())  # query: a double sum of the float32 sentence totals
    total_oov = float(oov_scores.astype(np.float64).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        ppl = 10.0 ** (-total / n_tok) if n_tok else float("nan")
        ppl_ex = 10.0 ** (-(total - total_oov) / (n_tok - n_oov)) if n_tok > n_oov else float("nan")
    return (f"Perplexity including OOVs:\t{ppl!r}\nPerplexity excluding OOVs:\t{ppl_ex!r}\n"
            f"OOVs:\t{n_oov}\nTokens:\t{n_tok}\n")


def _score(args) -> int:
    import time

    model = _load_model(args, for_scoring=True)
    if isinstance(model, int):
        return model
    where = "stdin" if args.text == "-" else args.text
    levels = set(args.levels or ("summary", "sentence", "word"))
    bos = eos = not args.no_context
    try:
        f = sys.stdin.buffer if args.text == "-" else open(args.text, "rb")
    except FileNotFoundError:
        return _error(args, f"{args.text}: no such text file")
    except OSError as exc:
        return _error(args, f"{args.text}: cannot read: {exc.strerror or exc}")
    try:
        first = b""
        while len(first) < _COMPILED_SCORE_AT:
            more = f.read(_COMPILED_SCORE_AT)
            if not more:
                break
            first += more
        jit = None
        if len(first) >= _COMPILED_SCORE_AT:
            from reference import arpa_walk

            jit = arpa_walk._jit()
        if jit is not None and f is not sys.stdin.buffer:
            # a file is checked to be UTF-8 before anything is printed (standard input: block by block)
            err = _utf8_error(f, first)
            if err is not None:
                return _error(args, f"{where}: not UTF-8 text (byte {err})")
        started = time.perf_counter()
        sys.stdout.flush()
        try:
            if jit is None:  # a short text, or no compiled kernels: the array path over the whole text
                data = first + f.read()
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return _error(args, f"{where}: not UTF-8 text (byte {exc.start})")
                blocks = [data] if data else []
            else:
                blocks = _read_blocks(f, first)
            for part in _score_stream(model, blocks, bos, eos, levels, jit, where):
                sys.stdout.buffer.write(part)
        except _NotUtf8 as exc:
            sys.stdout.buffer.flush()
            return _error(args, str(exc))
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            return _error(args, f"{args.text}: cannot read: {exc.strerror or exc}")
    finally:
        if f is not sys.stdin.buffer:
            f.close()
    sys.stdout.buffer.flush()
    if jit is not None:
        _compile_note(started)
    return EXIT_OK


def _utf8_error(f, first: bytes):
    """The offset of the first byte of the file ``f`` (``first``: its bytes read so far) that is not UTF-8, or
    None; reads it a block at a time (nothing kept) and goes back to where it was."""
    import codecs

    pos = f.tell()
    dec = codecs.getincrementaldecoder("utf-8")()
    chunk = first
    while True:
        final = not chunk
        try:
            dec.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            return _utf8_offset(f, pos, first)
        if final:
            break
        chunk = f.read(_SCORE_BLOCK)
    f.seek(pos)
    return None


def _utf8_offset(f, pos: int, first: bytes) -> int:
    """The exact offset of the first byte that is not UTF-8 (a second pass, only when there is one)."""
    f.seek(pos)
    data = first + f.read()
    f.seek(pos)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return len(data)


def _score_arrays(model, data: bytes, bos: bool, eos: bool, levels: set):
    """The array path of ``score`` for the lines ``data`` (UTF-8 bytes): (what it prints, predictions, the float32
    scores of the OOV ones, the float32 sentence totals)."""
    import numpy as np

    from reference.arpa import UNK

    b = np.frombuffer(data, dtype=np.uint8)
    n_lines = int(np.count_nonzero(b == 10)) + (1 if len(b) and b[-1] != 10 else 0)
    fast = model.ids_of_text(b, n_lines) if n_lines else None
    tokens = None
    if fast is not None:
        ids, per_line, tok_start, tok_end = fast
        h, w, per_sentence = model._ngrams_of_ids(ids, per_line, bos, eos)
    else:  # Unicode whitespace or NUL bytes, or no line: str.split, token by token
        lines = data.decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the newline that ends the last line does not start another sentence
        h, w, per_sentence, tokens = model.sentence_ngrams(lines, bos=bos, eos=eos, return_sentences=True)
    # KenLM reads the file's numbers as float32 and adds them in float32: so do we, for printing
    scores, length = model.score_ngrams(h, w, return_length=True, float32=True)
    unk = model.index[UNK]
    oov = w == unk
    out = []
    ends = np.cumsum(per_sentence)
    starts = ends - per_sentence
    nonempty = per_sentence > 0
    totals = np.zeros(len(per_sentence), dtype=np.float32)
    oov_per = np.zeros(len(per_sentence), dtype=np.int64)
    if len(scores):
        oov_per[nonempty] = np.add.reduceat(oov.astype(np.int64), starts[nonempty])
        # query adds a sentence's word scores one by one in float32: position by position, all sentences at once
        for j in range(int(per_sentence.max())):
            live = np.flatnonzero(per_sentence > j)
            totals[live] += scores[starts[live] + j]
    want_words, want_sentences = "word" in levels, "sentence" in levels
    if want_words or want_sentences:
        vocab_printed = np.where(oov, 0, w)  # query prints vocab id 0 for a word not in the model
        score_txt, score_idx = _f32_strings(scores) if want_words else ([], np.zeros(0, np.int64))
        total_txt, total_idx = _f32_strings(totals) if want_sentences else ([], np.zeros(0, np.int64))
        if tokens is None and want_words:
            raw = data
            tokens = [raw[x:y].decode("utf-8") for x, y in zip(tok_start.tolist(), tok_end.tolist())]
        s_list = [score_txt[i] for i in score_idx.tolist()] if want_words else []
        l_list, v_list = length.tolist(), vocab_printed.tolist()
        t = 0
        for i, m in enumerate(per_sentence.tolist()):
            if want_words:
                a = int(starts[i])
                nt = m - int(eos)
                surface = tokens[t: t + nt] + (["</s>"] if eos else [])
                out.append("".join(f"{surface[j]}={v_list[a + j]} {l_list[a + j]} {s_list[a + j]}\t"
                                   for j in range(m)).encode())
                t += nt
            if want_sentences:
                out.append(f"Total: {total_txt[total_idx[i]]} OOV: {int(oov_per[i])}\n".encode())
    return b"".join(out), len(scores), scores[oov], totals


def _one_blas_thread() -> None:
    """No command here multiplies matrices, but NumPy's OpenBLAS starts a thread per core when NumPy is imported,
    and they spin: about 0.12 s of CPU in each ``score`` run here (0.89 -> 0.77 s user, the 10^6-token trigram and
    1.5 M held-out tokens). One thread unless the caller chose (the variable is read once, at NumPy's import)."""
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: list[str] | None = None) -> int:
    """``lmverify ngram ...`` on its own (for tests and ``python -m lmverify.ngram_cmd``)."""
    _one_blas_thread()
    parser = argparse.ArgumentParser(prog="lmverify")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "ngram":
        argv = ["ngram"] + argv
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
