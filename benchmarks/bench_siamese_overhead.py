"""Overhead of skorch: one epoch of SiameseEmbedder vs a bare PyTorch loop.

Both sides do the same work, side by side in one process: the same network
(two copies of one initialised ``EmbeddingNet``), the same P×K batches (two
``PKBatchSampler`` with the same seed), the same batch-hard triplet loss, the
same Adam optimizer and learning rate, and the same per-batch count of easy /
semi-hard / hard triplets that the embedder records in its history (the bare
loop is also timed without that count). The runs alternate (embedder, bare,
embedder, bare, ...) so that a busy machine slows both alike; the median epoch
times are compared. On the CPU, where both are deterministic, the script also
checks that both sides end with the same embeddings, i.e. that they did the
same work.

Usage::

    python benchmarks/bench_siamese_overhead.py --device cpu --threads 1
    python benchmarks/bench_siamese_overhead.py --device cuda --cuda-speedup

The data are synthetic (random prototypes per identity plus noise), sized like
LFW crops; the timing does not depend on the pixel values.
"""

import argparse
import copy
import statistics
import time

import numpy as np
import torch


def make_data(n_identities, n_per_identity, side, seed=0):
    rng = np.random.RandomState(seed)
    protos = rng.rand(n_identities, side * side).astype(np.float32)
    X = np.repeat(protos, n_per_identity, axis=0)
    X += 0.1 * rng.randn(*X.shape).astype(np.float32)
    y = np.repeat(np.arange(n_identities), n_per_identity)
    return np.clip(X, 0, 1), y


def bare_epoch(module, optimizer, X_t, y_t, sampler, margin, device, count):
    """One epoch of a plain PyTorch loop doing the embedder's work."""
    from facekit.nn import batch_triplet_loss, triplet_category_counts

    module.train()
    totals = {"easy": 0, "semi_hard": 0, "hard": 0}
    for batch in sampler:
        idx = torch.as_tensor(batch)
        xb = X_t[idx].to(device)
        yb = y_t[idx].to(device)
        optimizer.zero_grad()
        emb = module(xb)
        loss = batch_triplet_loss(emb, yb, margin=margin, mining="batch_hard")
        if count:
            for k, v in triplet_category_counts(
                emb.detach(), yb, margin=margin
            ).items():
                totals[k] += v
        loss.backward()
        optimizer.step()
        loss.item()  # skorch reads the loss every batch
    if device != "cpu":
        torch.cuda.synchronize()
    return totals


def run(args, device):
    from facekit.nn import EmbeddingNet, PKBatchSampler, SiameseEmbedder, SiameseNetwork

    X, y = make_data(args.n_identities, args.n_per_identity, args.side)
    X_t = torch.from_numpy(X).reshape(-1, 1, args.side, args.side)
    y_t = torch.as_tensor(y)
    torch.manual_seed(0)
    backbone = EmbeddingNet(
        1, width=args.width, depth=args.depth, embedding_dim=args.embedding_dim
    )
    P, K = args.p, args.k

    def sampler():
        return PKBatchSampler(y, P, K, random_state=np.random.RandomState(0))

    # the embedder (skorch underneath)
    emb = SiameseEmbedder(
        (args.side, args.side),
        embedding_dim=args.embedding_dim,
        module=copy.deepcopy(backbone),
        mining="batch_hard",
        margin=args.margin,
        n_identities=P,
        n_per_identity=K,
        lr=args.lr,
        max_epochs=1,
        device=device,
        random_state=0,
        warm_start=True,
        iterator_train__batch_sampler=sampler(),
    )
    # the bare loop, same network (a copy), same sampler seed
    bare = SiameseNetwork(copy.deepcopy(backbone), args.embedding_dim).to(device)
    opt = torch.optim.Adam(bare.parameters(), lr=args.lr)
    bare_sampler = sampler()

    t_emb, t_emb_loop, t_bare, t_bare_nocount = [], [], [], []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        emb.fit(X, y)  # warm_start: one more epoch on the same network
        if device != "cpu":
            torch.cuda.synchronize()
        t_emb.append(time.perf_counter() - t0)
        t_emb_loop.append(emb.history[-1, "dur"])  # skorch's own epoch timer
        t0 = time.perf_counter()
        bare_epoch(bare, opt, X_t, y_t, bare_sampler, args.margin, device, True)
        t_bare.append(time.perf_counter() - t0)
    # the bare loop without the triplet count, on a throw-away copy
    bare2 = copy.deepcopy(bare)
    opt2 = torch.optim.Adam(bare2.parameters(), lr=args.lr)
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        bare_epoch(bare2, opt2, X_t, y_t, sampler(), args.margin, device, False)
        t_bare_nocount.append(time.perf_counter() - t0)

    diff = None
    if device == "cpu":
        with torch.no_grad():
            bare.eval()
            z_bare = bare(X_t[:256]).numpy()
        diff = float(np.abs(emb.transform(X[:256]) - z_bare).max())
    skip = 1 if args.epochs > 2 else 0  # the first epoch warms caches up
    med = [
        statistics.median(t[skip:]) for t in (t_emb, t_bare, t_bare_nocount, t_emb_loop)
    ]
    return {
        "device": device,
        "emb": med[0],
        "bare": med[1],
        "bare_nocount": med[2],
        "emb_loop": med[3],
        "diff": diff,
        "n_images": len(X),
        "n_batches": len(bare_sampler),
        "all_emb": t_emb,
        "all_bare": t_bare,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-identities", type=int, default=500)
    parser.add_argument("--n-per-identity", type=int, default=8)
    parser.add_argument("--side", type=int, default=48)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--embedding-dim", type=int, default=128)
    parser.add_argument("--p", type=int, default=16)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--margin", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--cuda-speedup",
        action="store_true",
        help="also run on the CPU and report CUDA's speed-up",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"{args.n_identities} x {args.n_per_identity} images of "
        f"{args.side}x{args.side}, width {args.width}, depth {args.depth}, "
        f"P x K = {args.p} x {args.k}"
    )
    if args.device.startswith("cuda"):
        print("GPU:", torch.cuda.get_device_name(0))
    devices = [args.device] + (["cpu"] if args.cuda_speedup else [])
    results = [run(args, d) for d in devices]
    print(
        f"\n{'device':<8} {'SiameseEmbedder':>16} {'bare loop':>10} "
        f"{'ratio':>6} {'bare (no count)':>16} {'ratio':>6}  (median s/epoch; "
        "the embedder's time is a whole warm-started fit of 1 epoch)"
    )
    for r in results:
        print(
            f"{r['device']:<8} {r['emb']:>16.3f} {r['bare']:>10.3f} "
            f"{r['emb'] / r['bare']:>6.3f} {r['bare_nocount']:>16.3f} "
            f"{r['emb'] / r['bare_nocount']:>6.3f}"
        )
        print(
            f"         inside skorch's loop (history 'dur', without fit's "
            f"data preparation): {r['emb_loop']:.3f} s, ratio "
            f"{r['emb_loop'] / r['bare']:.3f}"
        )
        print(
            f"         epochs: embedder {[round(t, 3) for t in r['all_emb']]}, "
            f"bare {[round(t, 3) for t in r['all_bare']]}"
        )
        if r["diff"] is not None:
            print(
                f"         max |embedder - bare| embeddings after training: "
                f"{r['diff']:.2e} (same work)"
            )
    if args.cuda_speedup:
        print(
            f"\nCUDA speed-up of one SiameseEmbedder epoch over the CPU "
            f"({torch.get_num_threads()} threads): "
            f"{results[1]['emb'] / results[0]['emb']:.1f}x"
        )


if __name__ == "__main__":
    main()
