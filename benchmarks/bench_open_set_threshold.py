"""The open-set τ of ``facekit identify`` against the verification τ, on LFW.

``facekit identify`` lowers the pretrained model's τ for a gallery of ``N``
people (``PretrainedFaceModel.open_set_threshold(N, false_alarm)``) so that
about ``false_alarm`` of strangers' faces are named as someone. The model's
table of different-person distances comes from LFW View 1's training images;
the rule itself (``1 - (1 - f) ** N = false_alarm``) was fixed before this
measurement, nothing here is tuned.

Protocol (as ``facekit benchmark lfw-open-set --method pretrained``): every
LFW person with two or more images has one random image enrolled; their other
images are genuine probes; the 4,069 people with a single image are the
strangers. For each gallery size ``N``, ``--repeats`` random sets of ``N``
enrolled people are drawn; the genuine probes are those people's other
images, the strangers all 4,069. Reported per τ rule, averaged over the
draws: the share of strangers named as someone (false alarm), and the share
of the genuine probes named right (detection and identification rate, DIR).

Usage::

    python benchmarks/bench_open_set_threshold.py
    python benchmarks/bench_open_set_threshold.py --sizes 10 100 --repeats 20
"""

import argparse

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 20, 50, 200, 1680])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--false-alarm", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args()

    from facekit.app.benchmark._lfw_people import _people
    from facekit.app.face_model import load_pretrained_model
    from facekit.distances import pairwise_distances
    from facekit.model_selection import open_set_protocol

    model = load_pretrained_model()
    data = _people("pretrained", args.data_home, {})
    names = data.target_names[data.target]
    gallery, genuine, impostor = open_set_protocol(names, n_gallery=1, random_state=0)
    enrolled = names[gallery]
    if len(set(enrolled)) != len(enrolled):
        raise SystemExit("expected one enrolled image per person")
    # distances of every probe to every enrolled person, once
    d_gen = pairwise_distances(data.data[genuine], data.data[gallery])
    d_imp = pairwise_distances(data.data[impostor], data.data[gallery])
    column = {person: j for j, person in enumerate(enrolled)}
    gen_col = np.array([column[p] for p in names[genuine]])
    print(
        f"{len(gallery)} people with an enrolled image, {len(genuine)} genuine "
        f"probes, {len(impostor)} strangers; verification τ {model.threshold:.3f}, "
        f"false_alarm {args.false_alarm:g}, {args.repeats} draws per size"
    )
    print("people  τ rule        τ      strangers named  genuine named right")
    rng = np.random.RandomState(args.seed)
    for n in args.sizes:
        n = min(n, len(gallery))
        taus = {
            "verification": model.threshold,
            "open set": model.open_set_threshold(n, args.false_alarm),
        }
        stats = {rule: [] for rule in taus}
        for _ in range(args.repeats if n < len(gallery) else 1):
            cols = np.sort(rng.choice(len(gallery), n, replace=False))
            imp_best = d_imp[:, cols].min(axis=1)
            rows = np.flatnonzero(np.isin(gen_col, cols))
            sub = d_gen[np.ix_(rows, cols)]
            right = cols[sub.argmin(axis=1)] == gen_col[rows]
            gen_best = sub.min(axis=1)
            for rule, tau in taus.items():
                stats[rule].append(
                    (np.mean(imp_best <= tau), np.mean(right & (gen_best <= tau)))
                )
        for rule, tau in taus.items():
            fa, dir_ = np.mean(stats[rule], axis=0)
            print(f"{n:6d}  {rule:12s}  {tau:.3f}  {fa:15.3f}  {dir_:19.3f}")


if __name__ == "__main__":
    main()
