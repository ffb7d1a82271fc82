"""The application wing: what runs facekit's estimators on photos and on LFW.

Apart from the estimators (:mod:`facekit.features`, :mod:`facekit.detection`,
:mod:`facekit.verification`, :mod:`facekit.identification`, ...), which know
nothing of it:

- :mod:`facekit.app.api`: photo-level functions (enroll a folder, identify,
  compare, cluster), returning records;
- :mod:`facekit.app.face_model`: the pretrained model (detector, alignment,
  dlib's ResNet, τ), its JSON file and its calibration on LFW View 1;
- :mod:`facekit.app.models`: the LFW-only LBP model, its file and calibration;
- :mod:`facekit.app.persistence`: the safe npz + JSON reader and writer of
  models and galleries;
- :mod:`facekit.app.benchmark`: the LFW benchmark runner (verification,
  open set, clustering) and its recipes;
- :mod:`facekit.app.distributed`: the same work on a Dask cluster;
- :mod:`facekit.app.cli`: the ``facekit`` command, thin printers over these.

The old import paths (``facekit.api``, ``facekit.models``, ...) still work.
"""
