"""The recognition commands: ``facekit verify``, ``enroll``, ``identify``, ``cluster``.

Thin printers over :mod:`facekit.app.api`, which returns the same answers as
records.
"""

import os
import sys

from facekit.app.cli._options import (
    _add_model_args,
    _add_scheduler_arg,
    _false_alarm,
    _output_file,
    _positive_int,
)
from facekit.app.cli._output import (
    EXIT_SKIPPED,
    CommandError,
    _box_text,
    _emit,
    _reason,
    _shown,
    _skipped,
)


def _model(args):
    """The model a command runs (:func:`facekit.app.api.load_face_model`)."""
    from facekit.app.api import load_face_model

    try:
        return load_face_model(
            args.model,
            threshold=getattr(args, "threshold", None),
            detector=args.detector,
            crop=args.crop,
            n_jobs=args.n_jobs,
            max_side=args.max_side,
        )
    except ValueError as exc:
        if "applies to" in str(exc):  # name the options as the command does
            option, rest = str(exc).split(" ", 1)
            raise CommandError(f"--{option.replace('_', '-')} {rest}") from None
        raise


def _client(args):
    """The Dask client of ``--scheduler`` (or ``$FACEKIT_SCHEDULER``), or None.

    Connected before any work starts: no answer at the address, or no Dask
    installed, is a one-line error.
    """
    from facekit.app.distributed import SCHEDULER_ENV, get_client

    address = args.scheduler
    option = "--scheduler"
    if address is None:
        address = os.environ.get(SCHEDULER_ENV) or None
        option = f"${SCHEDULER_ENV}"
    if address is None:
        return None
    if not address.strip():
        raise CommandError(f"{option} is empty: give a scheduler address")
    try:
        args.dask_client = get_client(address)  # closed by _run
    except (ValueError, ImportError) as exc:
        raise CommandError(f"{option} {address}: {exc}") from None
    return args.dask_client


def _search_note(model, images):
    """One line on stderr when photos were searched for faces scaled down
    (the pretrained model's ``max_side``): the faces too small to be found in
    them, and the option that finds them."""
    if not hasattr(model, "smallest_face") or model.max_side is None:
        return
    from PIL import Image

    from facekit.detection._aligner import MMOD_SMALLEST_FACE

    sizes = []
    for name in dict.fromkeys(str(i) for i in images):
        try:
            with Image.open(name) as im:
                width, height = im.size
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # reported with the photo's answers
        size = model.smallest_face((height, width))
        if size is not None and size > MMOD_SMALLEST_FACE + 0.5:
            sizes.append(size)
    if sizes:
        low, high = round(min(sizes)), round(max(sizes))
        span = f"{low}" if low == high else f"{low} to {high}"
        print(
            f"note: {len(sizes)} photo{'s were' if len(sizes) > 1 else ' was'} "
            f"longer than {model.max_side} pixels and searched for faces "
            f"scaled down: faces narrower than about {span} pixels in "
            f"{'them' if len(sizes) > 1 else 'it'} may be missed "
            "(--max-side full searches at full size, slower)",
            file=sys.stderr,
        )


def _progress(args):
    return True if args.progress else None


def _cmd_verify(args):
    from facekit.app.api import compare_faces

    model = _model(args)
    record = compare_faces(args.image_a, args.image_b, model=model)
    _search_note(model, [args.image_a, args.image_b])
    if record["status"] != "ok":
        raise CommandError(record["error"])
    same, d, tau = record["same"], record["distance"], record["threshold"]
    text = (
        f"{'same person' if same else 'different people'}: {record['metric']} "
        f"distance {d:.4g} {'<=' if same else '>'} threshold {tau:.4g}"
    )
    if record["n_faces_a"] > 1 or record["n_faces_b"] > 1:
        box_a = _box_text({"box": record["box_a"], "score": record["score_a"]})
        box_b = _box_text({"box": record["box_b"], "score": record["score_b"]})
        text += (
            f" (closest of {record['n_faces_a']} x {record['n_faces_b']} "
            f"faces: {box_a.strip()} and {box_b.strip()})"
        )
    _emit(args, record, text)
    return 0


def _cmd_enroll(args):
    from facekit.app.api import enroll_folder

    if args.add and os.path.exists(args.out) and not os.path.isfile(args.out):
        raise CommandError(f"--add: {args.out} is not a regular file, so not a gallery")
    if args.add and not os.path.isfile(args.out):
        raise CommandError(
            f"--add: there is no gallery {args.out} to add to "
            "(leave out --add to create one)"
        )
    if args.add and args.matching is not None:
        raise CommandError(
            "--matching applies to a new gallery; with --add the gallery keeps its own"
        )
    client = _client(args)
    model = _model(args)
    gallery, records = enroll_folder(
        args.folder,
        args.out,
        model=model,
        threshold=args.threshold,
        matching=args.matching or "nearest",
        progress=_progress(args),
        client=client,
        into=args.out if args.add else None,
    )
    _search_note(model, [r["image"] for r in records])
    used = [r for r in records if r["status"] == "ok"]
    skipped = _skipped(records)
    in_gallery = {str(c) for c in gallery.classes_}
    # a person none of whose photos gave a face is not in the gallery at all
    missing = [
        p
        for p in dict.fromkeys(r["person"] for r in records)
        if p is not None and p not in in_gallery
    ]
    data = {
        "gallery": args.out,
        "n_people": len(gallery.classes_),
        "n_images": len(used),
        "people": [str(c) for c in gallery.classes_],
        "enrolled": used,
        "skipped": skipped,
        "not_enrolled": missing,
    }
    people = len({r["person"] for r in used})
    text = [
        f"enrolled {_count(len(used), 'image')} of "
        f"{_count(people, 'person', 'people')} into {args.out}"
        + (f" ({len(gallery.classes_)} people in the gallery now)" if args.add else "")
    ]
    text += _enrolled_choices(records)
    text += [
        f"  check {_shown(r['image'])}: {_reason(r['image'], r['check'])}"
        for r in used
        if r["check"]
    ]
    text += [f"  skipped {_shown(p)}: {_reason(p, why)}" for p, why in skipped]
    text += [
        f"  not enrolled: {_shown(p)} (no photo of theirs gave a face to "
        "enroll; identify will not name them)"
        for p in missing
    ]
    _emit(args, data, "\n".join(text))
    return EXIT_SKIPPED if skipped else 0


def _cmd_identify(args):
    from facekit.app._api_model import _identify_threshold
    from facekit.app.api import _load_gallery, identify_photos

    client = _client(args)
    model = _model(args)
    gallery = _load_gallery(args.gallery, model)  # checks the model that made it
    enrolled_tau = gallery.threshold
    tau = _identify_threshold(model, gallery, args.threshold, args.false_alarm)
    records = identify_photos(
        list(args.images),
        gallery,
        model=model,
        threshold=args.threshold,
        false_alarm=args.false_alarm,
        top_k=args.top_k,
        progress=_progress(args),
        client=client,
    )
    _search_note(model, [r["image"] for r in records])
    if args.threshold is None and enrolled_tau is not None and tau < enrolled_tau:
        n = len(gallery.classes_)
        print(
            f"note: τ {tau:.3f} for {n} enrolled people (the "
            f"gallery's {enrolled_tau:.3f}), so that about "
            f"{args.false_alarm:.0%} of strangers' faces are named as someone "
            "(--false-alarm off keeps the gallery's τ)",
            file=sys.stderr,
        )
    results, lines = [], []
    for r in records:
        if not results or results[-1]["image"] != r["image"]:
            results.append({"image": r["image"], "faces": [], "error": r["error"]})
        if r["status"] != "ok":
            lines.append(
                f"{_shown(r['image'])}: skipped ({_reason(r['image'], r['error'])})"
            )
            continue
        results[-1]["faces"].append(r)
        shown = r["identity"] if r["recognized"] else "not recognized"
        lines.append(
            f"{_shown(r['image'])}{_box_text(r)}: {shown} "
            f"(nearest {r['nearest']} at {r['distance']:.4g}{_runners_up(r)})"
        )
    skipped = _skipped(records)
    data = {"threshold": gallery.threshold, "results": results, "skipped": skipped}
    _emit(args, data, "\n".join(lines))
    return EXIT_SKIPPED if skipped else 0


def _runners_up(record):
    """The ``--top-k`` candidates after the nearest, as text (the JSON's
    ``top``): ``"; then B at 0.71, C at 0.74"``, or nothing."""
    rest = record["top"][1:]
    if not rest:
        return ""
    return "; then " + ", ".join(
        f"{_shown(t['identity'])} at {t['distance']:.4g}" for t in rest
    )


def _enrolled_choices(records):
    """A line per enrolled photo that showed several faces: which of them was
    enrolled as the person (the JSON's ``face_index`` and ``box``), so that a
    wrong pick can be seen and the photo moved or cropped."""
    return [
        f"  {_shown(r['image'])}: {r['n_faces']} faces, enrolled the face"
        f"{_box_text(r) or ' ' + str(r['face_index'])} as {_shown(r['person'])}"
        for r in records
        if r["status"] == "ok" and r["n_faces"] > 1
    ]


def _cmd_cluster(args):
    from facekit.app._api_files import _list_images
    from facekit.app.api import cluster_photos

    if args.n_clusters is not None and args.n_clusters < 1:
        raise CommandError(f"--n-clusters must be >= 1, got {args.n_clusters}")
    client = _client(args)
    paths = _list_images(args.folder)
    model = _model(args)
    try:
        records = cluster_photos(
            paths,
            model=model,
            n_clusters=args.n_clusters,
            threshold=args.threshold,
            progress=_progress(args),
            client=client,
        )
    except ValueError as exc:
        if str(exc).startswith("no face found"):
            raise CommandError(f"{exc} of {args.folder}") from None
        if str(exc).startswith("n_clusters="):
            raise CommandError(
                f"--n-clusters {str(exc)[len('n_clusters=') :]}"
            ) from None
        raise
    _search_note(model, paths)
    faces = [r for r in records if r["status"] == "ok"]
    clusters = {}
    for r in faces:
        clusters.setdefault(r["cluster"], []).append(r)
    n_clusters = len(set(clusters) - {-1})
    skipped = _skipped(records)
    n_photos = len({r["image"] for r in faces})
    head = (
        f"{_count(len(faces), 'face')} in {_count(n_photos, 'image')}: "
        f"{_count(n_clusters, 'cluster')}"
    )
    if skipped:  # the photos without a face are not in the count above
        head += f" ({len(skipped)} of {len(paths)} images skipped, listed below)"
    lines = [head]
    for lab in sorted(clusters):
        name = "noise" if lab == -1 else f"cluster {lab}"
        lines.append(f"{name} ({len(clusters[lab])}):")
        lines.extend(f"  {_shown(it['image'])}{_box_text(it)}" for it in clusters[lab])
    lines += [f"skipped {_shown(p)}: {_reason(p, why)}" for p, why in skipped]
    payload = {str(k): v for k, v in sorted(clusters.items())}
    _emit(args, {"clusters": payload, "skipped": skipped}, "\n".join(lines))
    return EXIT_SKIPPED if skipped else 0


def _count(n, noun, plural=None):
    """``"1 face"``, ``"2 faces"``; ``"1 person"``, ``"2 people"``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _add_recognition(sub):
    p = sub.add_parser("verify", help="are two face images the same person?")
    p.add_argument("image_a")
    p.add_argument("image_b")
    _add_model_args(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("enroll", help="build a gallery from DIR/<person>/<image>")
    p.add_argument("folder")
    p.add_argument(
        "--out",
        "-o",
        default="gallery.npz",
        type=_output_file,
        help="gallery file to write",
    )
    p.add_argument(
        "--matching",
        default=None,
        choices=["nearest", "centroid"],
        help="distance to a person: to their nearest photo (default "
        "for a new gallery) or to their mean",
    )
    p.add_argument(
        "--add",
        action="store_true",
        help="add the folder's people and photos to the existing "
        "gallery --out instead of replacing it (no retraining; "
        "the file is left as it was when enrollment fails)",
    )
    p.add_argument(
        "--skip-bad",
        action="store_true",
        help="(kept for compatibility: unreadable photos and photos "
        "without a face are always reported and skipped)",
    )
    _add_model_args(
        p,
        threshold_help="distance threshold τ stored in the "
        "gallery, which identify then uses (default: the model's; "
        "with --add: the gallery's)",
    )
    _add_scheduler_arg(p)
    p.set_defaults(func=_cmd_enroll)

    p = sub.add_parser("identify", help="who is in these images?")
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="photos, or folders searched recursively for photos",
    )
    p.add_argument("--gallery", "-g", required=True, help="gallery file from enroll")
    p.add_argument("--top-k", type=_positive_int, default=3, help="candidates to list")
    _add_model_args(
        p,
        threshold_help="distance threshold τ (default: the one "
        "stored in the gallery when it was enrolled, lowered for a large "
        "gallery: see --false-alarm)",
    )
    p.add_argument(
        "--false-alarm",
        type=_false_alarm,
        default=0.05,
        metavar="RATE",
        help="pretrained model, without --threshold: lower τ for the gallery's "
        "number of people so that about this share of strangers' faces are "
        "named as someone (default: 0.05; at the verification τ each enrolled "
        "person adds ~1%%); 'off' keeps the gallery's τ",
    )
    _add_scheduler_arg(p)
    p.set_defaults(func=_cmd_identify)

    p = sub.add_parser("cluster", help="group the faces of a folder's photos by person")
    p.add_argument("folder")
    p.add_argument(
        "--n-clusters",
        type=_positive_int,
        default=None,
        help="number of people if known (k-means); else threshold clustering",
    )
    _add_model_args(
        p,
        threshold_help="distance threshold τ of threshold "
        "clustering (default: the model's clustering τ)",
    )
    _add_scheduler_arg(p)
    p.set_defaults(func=_cmd_cluster)
