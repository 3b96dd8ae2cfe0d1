"""The catalogue a revision's access questions expand wildcards through: AWS's plus its services.json."""

from __future__ import annotations

from iamgate.bundle.jsonread import MISSING, FileReport, load_json
from iamgate.bundle.loader import BundleFiles
from iamgate.bundle.servicefile import SERVICES, read_services
from iamgate.catalogue import Catalogue, aws_catalogue


def catalogue_of(files: BundleFiles) -> Catalogue:
    """AWS's catalogue, with the bundle's own services (``services.json``) when it declares any."""
    catalogue = aws_catalogue()
    if SERVICES not in files.files:
        return catalogue
    report = FileReport(SERVICES, [])  # the bundle was validated: its problems were reported there
    document = load_json(report, files.files[SERVICES])
    return catalogue if document is MISSING else catalogue.with_services(read_services(report, document))
