"""The embedded sandbox: moto's server on 127.0.0.1, the seed's pipeline, and a local Lambda runner.

Modules import only the standard library at top level; moto and boto3 load when a sandbox starts.
"""
