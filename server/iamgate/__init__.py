"""iamgate: a policy-as-code authorization sidecar with AWS IAM semantics.

Layers import one way: ``policy`` <- ``engine`` <- ``bundle`` <- ``service`` <- ``cli``.
"""

__version__ = "0.1.0"
