"""The access report from decision logs (``iamgate access-report``; docs/access-report.md).

``logs`` reads the sidecar's decision-log files (bounded, streamed), ``usage`` folds them into
per-principal and per-statement use, ``suggest`` builds a tightened policy for one principal and
replays the logged requests against it, ``command`` renders all of it.
"""
