"""evctl: publish, inspect, move and follow events in EventBridge -> SQS -> Lambda pipelines."""

__version__ = "0.1.0"
