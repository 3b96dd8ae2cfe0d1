"""The root of iamgate's exception tree.

    IamgateError
    ├── policy.PolicyError        a document is not a valid IAM policy
    ├── engine.EngineError        a request cannot be evaluated as given
    ├── bundle.BundleError        a bundle cannot be read, verified or activated
    └── service.ServiceError      the sidecar cannot be configured or started

Every error carries a message that names the file, field or JSON path at fault, so the CLI and
the gRPC service can show it as is, without a traceback.
"""


class IamgateError(Exception):
    """Base of every error iamgate raises on purpose."""
