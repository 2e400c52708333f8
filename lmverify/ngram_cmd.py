"""``lmverify ngram``: estimate a modified Kneser-Ney model as KenLM's ``lmplz`` does, and score text as
KenLM's ``query`` prints it.

    lmverify ngram estimate CORPUS -o N [--discount_fallback] [--interpolate_unigrams 0] > model.arpa
    lmverify ngram score model.arpa [TEXT] [-n] [-v summary|sentence|word] < text

``CORPUS`` and ``TEXT`` may be ``-`` (standard input, the default of ``score``). The options are
lmplz's and query's: ``-o/--order``, ``--discount_fallback``, ``--interpolate_unigrams 0|1``,
``--arpa FILE`` (write there instead of standard output); ``-S`` and ``-T`` are accepted and ignored
(the model is estimated in memory). The estimate prints lmplz's "Statistics" lines (n-grams and
discounts per order) on standard error.

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
    sc.add_argument("model", help="ARPA file (plain or gzip)")
    sc.add_argument("text", nargs="?", default="-", help="text to score, one sentence per line ('-': stdin)")
    sc.add_argument("-n", dest="no_context", action="store_true",
                    help="do not wrap the input in <s> and </s> (query's -n)")
    sc.add_argument("-v", dest="levels", action="append", choices=("summary", "sentence", "word"),
                    help="print statistics at this level (repeatable; default: all three, like query)")
    sc.set_defaults(func=run)
    p.set_defaults(func=run)
    return p


def _error(args, message: str) -> int:
    print(f"lmverify ngram {getattr(args, 'ngram_command', '')}: error: {message}", file=sys.stderr)
    return EXIT_INPUT


def run(args) -> int:
    try:
        if args.ngram_command == "estimate":
            return _estimate(args)
        return _score(args)
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK


def _estimate(args) -> int:
    from reference.arpa import write_arpa
    from reference.numpy.ngram import DiscountError, estimate_kneser_ney, read_corpus

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
    try:
        model, stats = estimate_kneser_ney(corpus, args.order, discount_fallback=args.discount_fallback,
                                           interpolate_unigrams=args.interpolate_unigrams, return_statistics=True)
    except DiscountError as exc:
        reason = str(exc).split("; pass discount_fallback")[0]
        return _error(args, f"{reason}; is the corpus small or artificial? rerun with --discount_fallback to use "
                            "D1, D2, D3+ = 0.5, 1, 1.5 for such orders (as lmplz)")
    except ValueError as exc:
        return _error(args, str(exc))
    del corpus
    lines = ["Statistics:"]
    for k, (c, d, fb) in enumerate(zip(model.counts(), stats.discounts, stats.fallback), start=1):
        lines.append(f"{k} {c} D1={d[0]:g} D2={d[1]:g} D3+={d[2]:g}" + (" (fallback)" if fb else ""))
    print("\n".join(lines), file=sys.stderr)
    if args.arpa:
        try:
            write_arpa(model, args.arpa)
        except OSError as exc:
            return _error(args, f"{args.arpa}: cannot write: {exc.strerror}")
    else:
        write_arpa(model, sys.stdout.buffer)
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


def _score(args) -> int:
    import numpy as np

    from reference.arpa import UNK, ArpaError, read_arpa

    try:
        model = read_arpa(args.model)
    except ArpaError as exc:
        return _error(args, str(exc))
    except IsADirectoryError:
        return _error(args, f"{args.model}: is a directory, expected an ARPA file")
    except OSError as exc:
        return _error(args, f"{args.model}: cannot read: {exc.strerror or exc}")
    try:
        if args.text == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.text, "rb") as f:
                data = f.read()
        text = data.decode("utf-8")
    except FileNotFoundError:
        return _error(args, f"{args.text}: no such text file")
    except OSError as exc:
        return _error(args, f"{args.text}: cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        return _error(args, f"{'stdin' if args.text == '-' else args.text}: not UTF-8 text (byte {exc.start})")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another sentence
    levels = set(args.levels or ("summary", "sentence", "word"))
    bos = eos = not args.no_context
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
    if "word" in levels or "sentence" in levels:
        s_list, l_list = scores.tolist(), length.tolist()
        v_list = np.where(oov, 0, w).tolist()  # query prints vocab id 0 for a word not in the model
        t = 0
        for i, m in enumerate(per_sentence.tolist()):
            if "word" in levels:
                a = int(starts[i])
                nt = m - int(eos)
                surface = tokens[t: t + nt] + (["</s>"] if eos else [])
                out.append("".join(f"{surface[j]}={v_list[a + j]} {l_list[a + j]} {_f32(s_list[a + j])}\t"
                                   for j in range(m)))
                t += nt
            if "sentence" in levels:
                out.append(f"Total: {_f32(totals[i])} OOV: {int(oov_per[i])}\n")
    if "summary" in levels:
        n_tok = len(scores)
        n_oov = int(oov.sum())
        total = float(totals.astype(np.float64).sum())  # query: a double sum of the float32 sentence totals
        total_oov = float(scores[oov].astype(np.float64).sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            ppl = 10.0 ** (-total / n_tok) if n_tok else float("nan")
            ppl_ex = 10.0 ** (-(total - total_oov) / (n_tok - n_oov)) if n_tok > n_oov else float("nan")
        out.append(f"Perplexity including OOVs:\t{ppl!r}\nPerplexity excluding OOVs:\t{ppl_ex!r}\n"
                   f"OOVs:\t{n_oov}\nTokens:\t{n_tok}\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``lmverify ngram ...`` on its own (for tests and ``python -m lmverify.ngram_cmd``)."""
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
