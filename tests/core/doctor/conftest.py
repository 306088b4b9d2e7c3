from tests.core.doctor.seed import seed

__all__ = ["seed"]
